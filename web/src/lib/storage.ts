/** Small wrappers: storage can throw (private mode, quotas) and that must never break the app. */
function read(store: () => Storage, key: string): string | null {
  try {
    return store().getItem(key);
  } catch {
    return null;
  }
}

function write(store: () => Storage, key: string, value: string | null): void {
  try {
    if (value === null) store().removeItem(key);
    else store().setItem(key, value);
  } catch {
    // ignore
  }
}

// Reached through a function: merely naming `localStorage` can throw where it is blocked.
export const readLocal = (key: string) => read(() => localStorage, key);
export const writeLocal = (key: string, value: string | null) => write(() => localStorage, key, value);
/** This tab's storage: kept across reloads, gone with the tab. */
export const readSession = (key: string) => read(() => sessionStorage, key);
export const writeSession = (key: string, value: string | null) => write(() => sessionStorage, key, value);

export const LAST_WORKSPACE_KEY = "nexus-last-workspace";

/** Remove every key of this tab's storage that starts with `prefix`. */
export function clearSessionPrefix(prefix: string): void {
  try {
    const keys: string[] = [];
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i);
      if (key?.startsWith(prefix)) keys.push(key);
    }
    for (const key of keys) sessionStorage.removeItem(key);
  } catch {
    // ignore
  }
}
