/**
 * What a screen reader hears while an answer streams: whole sentences as they complete,
 * not every word (which would drown the reader), and the rest when the answer ends.
 */
export function nextAnnouncement(text: string, announcedUpTo: number, final: boolean): { say: string; upTo: number } {
  if (announcedUpTo >= text.length) return { say: "", upTo: announcedUpTo };
  const pending = text.slice(announcedUpTo);
  if (final) return { say: pending.trim(), upTo: text.length };
  // The last sentence end (., !, ?, or a line break) followed by whitespace.
  let cut = -1;
  const re = /[.!?](?=\s)|\n/g;
  for (let m = re.exec(pending); m; m = re.exec(pending)) cut = m.index + 1;
  if (cut <= 0) return { say: "", upTo: announcedUpTo };
  return { say: pending.slice(0, cut).trim(), upTo: announcedUpTo + cut };
}
