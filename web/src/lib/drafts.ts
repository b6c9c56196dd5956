/**
 * Unsent messages, kept in the tab's storage per conversation (`…:new` for a new chat) until
 * they are sent. The session clears them when the person signs out or someone else signs
 * in, wherever they were typed.
 */
import { clearSessionPrefix, readSession, writeSession } from "./storage";

const DRAFT_PREFIX = "nexus-draft:";

export const draftStorageKey = (key: string) => `${DRAFT_PREFIX}${key}`;

/**
 * Carry the draft under `from` over to `to` (a new chat's, to the conversation it became):
 * text typed while the chat was being made goes with it. A draft already under `to` stays.
 */
export function moveDraft(from: string, to: string): void {
  const text = readSession(draftStorageKey(from));
  if (text === null) return;
  writeSession(draftStorageKey(from), null);
  if (readSession(draftStorageKey(to)) === null) writeSession(draftStorageKey(to), text);
}

export function clearDrafts(): void {
  clearSessionPrefix(DRAFT_PREFIX);
}
