/**
 * Versions of a message: an edit or a regeneration keeps the old one as a sibling, and the
 * server lists `sibling_ids` (oldest first, the shown one included). The switcher reads
 * "< 2/3 >" and asks the server to show the branch of the neighbour.
 */

export interface BranchInfo {
  /** 1-based position of the shown version. */
  position: number;
  total: number;
  previousId: string | null;
  nextId: string | null;
}

/** Null when the message has no other version (no switcher). */
export function branchInfo(message: { id: string; siblingIds: readonly string[] }): BranchInfo | null {
  const ids = message.siblingIds;
  const i = ids.indexOf(message.id);
  if (ids.length < 2 || i === -1) return null;
  return {
    position: i + 1,
    total: ids.length,
    previousId: i > 0 ? ids[i - 1]! : null,
    nextId: i < ids.length - 1 ? ids[i + 1]! : null,
  };
}

/** The label screen readers hear for the switcher. */
export function branchLabel(info: BranchInfo, role: "user" | "assistant"): string {
  return `${role === "user" ? "Message" : "Answer"} version ${info.position} of ${info.total}`;
}
