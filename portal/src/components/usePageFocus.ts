import { type RefObject, useEffect, useRef } from "react";

/** How long to wait for a page's h1 (lazy pages and data-dependent headers). */
const H1_WAIT_MS = 10_000;

/**
 * After a route change, moves focus to the new page's h1 (made focusable
 * with tabIndex=-1), so keyboard and screen-reader users start at the page
 * they opened rather than on the link they left. Not on the first render:
 * a fresh load keeps the browser's own start (the skip link first).
 */
export function usePageFocus(path: string, main: RefObject<HTMLElement | null>) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const root = main.current;
    if (!root) return;
    const focus = () => {
      // A page that suspends (lazy code) stays in the DOM, hidden, until the
      // new one is ready: only a rendered h1 will do, and only once it holds focus.
      const h1 = Array.from(root.querySelectorAll("h1")).find((h) => h.getClientRects().length > 0);
      if (!h1) return false;
      h1.tabIndex = -1;
      h1.focus({ preventScroll: true });
      return document.activeElement === h1;
    };
    if (focus()) return;
    // The h1 may come later (a page that loads, or a header shown with its data).
    const obs = new MutationObserver(() => focus() && stop());
    const timer = setTimeout(() => stop(), H1_WAIT_MS);
    const stop = () => {
      obs.disconnect();
      clearTimeout(timer);
    };
    obs.observe(root, { childList: true, subtree: true });
    return stop;
  }, [path, main]);
}
