/**
 * Unsent messages, kept in the tab's storage per conversation (`…:new` for a new chat) until
 * they are sent (and the files attached to them, in memory). The session clears them when the person signs out or someone else signs
 * in, wherever they were typed.
 */
import { clearSessionPrefix, readSession, writeSession } from "./storage";

const DRAFT_PREFIX = "nexus-draft:";

export const draftStorageKey = (key: string) => `${DRAFT_PREFIX}${key}`;

/**
 * Files attached to a draft and not sent yet, per draft key: kept in memory (a tab's storage
 * is too small for them), so they stay while another conversation is on screen and go on a
 * reload or when the session ends.
 */
const draftFiles = new Map<string, readonly object[]>();

export function readDraftFiles<T extends object>(key: string): readonly T[] {
  return (draftFiles.get(key) as readonly T[] | undefined) ?? [];
}

export function writeDraftFiles(key: string, files: readonly object[]): void {
  if (files.length === 0) draftFiles.delete(key);
  else draftFiles.set(key, files);
}

/**
 * Carry the draft under `from` over to `to` (a new chat's, to the conversation it became):
 * text typed while the chat was being made goes with it. A draft already under `to` stays.
 */
export function moveDraft(from: string, to: string): void {
  const files = draftFiles.get(from);
  if (files) {
    draftFiles.delete(from);
    if (!draftFiles.has(to)) draftFiles.set(to, files);
  }
  const text = readSession(draftStorageKey(from));
  if (text === null) return;
  writeSession(draftStorageKey(from), null);
  if (readSession(draftStorageKey(to)) === null) writeSession(draftStorageKey(to), text);
}

export function clearDrafts(): void {
  draftFiles.clear();
  clearSessionPrefix(DRAFT_PREFIX);
}
