/** Small wrappers: storage can throw (private mode, quotas) and that must never break the app. */
export function readLocal(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeLocal(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // ignore
  }
}

export const LAST_WORKSPACE_KEY = "nexus-last-workspace";
