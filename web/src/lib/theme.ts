/** Light, dark, or follow the system; the choice is saved in localStorage. */
import { useSyncExternalStore } from "react";

export type ThemeChoice = "light" | "dark" | "system";
const STORAGE_KEY = "nexus-theme";
const listeners = new Set<() => void>();

function readChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

let choice: ThemeChoice = typeof window === "undefined" ? "system" : readChoice();

function systemPrefersDark(): boolean {
  return typeof window !== "undefined" && window.matchMedia?.("(prefers-color-scheme: dark)").matches === true;
}

export function resolvedTheme(c: ThemeChoice = choice): "light" | "dark" {
  if (c === "system") return systemPrefersDark() ? "dark" : "light";
  return c;
}

function apply(): void {
  const root = document.documentElement;
  const theme = resolvedTheme();
  root.classList.toggle("dark", theme === "dark");
  root.classList.toggle("light", theme === "light");
  root.style.colorScheme = theme;
}

export function setTheme(next: ThemeChoice): void {
  choice = next;
  try {
    if (next === "system") localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Private mode: the choice still holds for this visit.
  }
  apply();
  listeners.forEach((l) => l());
}

/** Apply the saved theme and follow system changes while the choice is "system". */
export function initTheme(): void {
  apply();
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (choice === "system") {
      apply();
      listeners.forEach((l) => l());
    }
  });
  window.addEventListener("storage", (e) => {
    if (e.key === STORAGE_KEY) {
      choice = readChoice();
      apply();
      listeners.forEach((l) => l());
    }
  });
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useTheme(): { choice: ThemeChoice; resolved: "light" | "dark"; setTheme: (t: ThemeChoice) => void } {
  const c = useSyncExternalStore(subscribe, () => choice, () => "system" as ThemeChoice);
  return { choice: c, resolved: resolvedTheme(c), setTheme };
}
