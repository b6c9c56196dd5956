import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import { clearDrafts } from "@/lib/drafts";

// findBy… and waitFor give up after this long. Testing Library's default second is less
// than a page's cold first render (lazy chunks, the markdown renderer) takes on a busy
// 2-core CI machine, where two AssistantPage tests failed once; a passing test never
// waits it out.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  // Drafts live in this tab's storage (their files in memory), panels' choices in the
  // browser's: each test starts with none.
  if (typeof window !== "undefined") {
    clearDrafts();
    sessionStorage.clear();
    localStorage.clear();
  }
});

// jsdom lacks these; Radix and the theme code ask for them. (Node-environment tests have no window.)
if (typeof window !== "undefined" && !window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: () => {},
      removeEventListener: () => {},
      addListener: () => {},
      removeListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
if (typeof window !== "undefined" && !("ResizeObserver" in window)) {
  (window as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
if (typeof Element !== "undefined" && !Element.prototype.hasPointerCapture) {
  Element.prototype.hasPointerCapture = () => false;
  Element.prototype.releasePointerCapture = () => {};
  Element.prototype.scrollIntoView = () => {};
}
