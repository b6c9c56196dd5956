/**
 * Unsent messages, kept in the tab's storage per conversation (`…:new` for a new chat) until
 * they are sent. The session clears them when the person signs out or someone else signs
 * in, wherever they were typed.
 */
import { clearSessionPrefix } from "./storage";

const DRAFT_PREFIX = "nexus-draft:";

export const draftStorageKey = (key: string) => `${DRAFT_PREFIX}${key}`;

export function clearDrafts(): void {
  clearSessionPrefix(DRAFT_PREFIX);
}
