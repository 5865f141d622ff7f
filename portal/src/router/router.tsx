import { type AnchorHTMLAttributes, createContext, type MouseEvent, type ReactNode, useContext, useEffect, useState } from "react";

/**
 * A small pathname router under a base path: "/admin" for the standalone
 * app (the Go service falls back to index.html for unknown paths, so every
 * route survives a reload), or wherever a host app mounts llmmeter's pages.
 * It owns only the part of the URL below its base, through the History API,
 * so it coexists with the host's own router.
 */

/** "/admin/" or "/admin" → "/admin"; "/" → "". */
export function normalizeBase(base: string): string {
  return base.replace(/\/+$/, "");
}

/** The route path ("/users/u_1") of the current location under base. */
function currentPath(base: string): string {
  // (the path only; the query string is kept apart as `search`)
  const p = window.location.pathname;
  const rest = p.startsWith(base) ? p.slice(base.length) : p;
  return rest === "" ? "/" : rest;
}

/** Query parameters to set; undefined or "" removes one. */
export type QueryPatch = Record<string, string | undefined>;

const RouterContext = createContext<{
  base: string;
  path: string;
  search: string;
  navigate: (to: string) => void;
  setQuery: (patch: QueryPatch) => void;
}>({
  base: "",
  path: "/",
  search: "",
  navigate: () => {},
  setQuery: () => {},
});

/**
 * The query string with `patch` applied, keys sorted so that one view has
 * one URL ("" if empty, else "?a=1&b=2").
 */
export function patchSearch(search: string, patch: QueryPatch): string {
  const p = new URLSearchParams(search);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === "") p.delete(k);
    else p.set(k, v);
  }
  p.sort();
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Routes below `base` (a path such as "/admin" or "/ops/llmmeter"; default the site root). */
export function RouterProvider({ children, base: rawBase = "" }: { children: ReactNode; base?: string }) {
  const base = normalizeBase(rawBase);
  const [loc, setLoc] = useState(() => ({ path: currentPath(base), search: window.location.search }));
  const sync = () => setLoc({ path: currentPath(base), search: window.location.search });
  useEffect(() => {
    sync();
    window.addEventListener("popstate", sync);
    return () => window.removeEventListener("popstate", sync);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [base]);
  const navigate = (to: string) => {
    window.history.pushState(null, "", base + to);
    sync();
    window.scrollTo?.(0, 0);
  };
  // A page's range and filters live in the query string: each change is a
  // history entry (back/forward step through views) and a reload keeps it.
  const setQuery = (patch: QueryPatch) => {
    const search = patchSearch(window.location.search, patch);
    if (search === window.location.search) return;
    window.history.pushState(null, "", window.location.pathname + search);
    sync();
  };
  return <RouterContext.Provider value={{ base, ...loc, navigate, setQuery }}>{children}</RouterContext.Provider>;
}

export function useRouter() {
  return useContext(RouterContext);
}

/** Matches "/users/:id" against a path; returns the params or null. */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/").filter(Boolean);
  const xs = path.split("/").filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(":")) params[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return params;
}

/** An <a> that navigates inside the portal without a reload. */
export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const { base, navigate } = useRouter();
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={base + to} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
