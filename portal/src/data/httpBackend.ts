import type { FunctionArgs, FunctionReturnType, PaginationResult } from "convex/server";
import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { AnyMutation, AnyQuery, Backend, Connection, PageArgs, PageItem, PaginatedState, QueryState } from "./backend";
import { AdminError, toAdminError } from "./errors";
import { functionPath } from "./functionPath";
import type { AdminHttpClient } from "./httpClient";

/** The client and refresh interval of embedded mode. */
export interface HttpSettings {
  client: AdminHttpClient;
  refreshMs: number;
  /** Called with auth errors (the key was revoked or is not an admin key). */
  onAuthError?: (e: AdminError) => void;
}

export const HttpSettingsContext = createContext<HttpSettings | null>(null);

function useSettings(): HttpSettings {
  const s = useContext(HttpSettingsContext);
  if (!s) throw new Error("HttpSettingsContext missing");
  return s;
}

/**
 * Calls `tick` now and then every refreshMs, after each mutation, and when
 * the page becomes visible again; skips ticks while the page is hidden.
 * A tick that is still running is not overlapped.
 */
function usePolling(key: string | null, tick: (signal: AbortSignal) => Promise<void>): () => void {
  const { client, refreshMs } = useSettings();
  const tickRef = useRef(tick);
  tickRef.current = tick;
  const runRef = useRef<() => void>(() => {});
  useEffect(() => {
    if (key === null) return;
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    const run = async () => {
      clearTimeout(timer);
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        if (typeof document === "undefined" || !document.hidden) await tickRef.current(ctrl.signal);
      } finally {
        running = false;
        if (!ctrl.signal.aborted) {
          if (again) {
            again = false;
            void run();
          } else {
            timer = setTimeout(run, refreshMs);
          }
        }
      }
    };
    const onVisible = () => {
      if (!document.hidden) void run();
    };
    runRef.current = () => void run();
    void run();
    const off = client.onInvalidate(() => void run());
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      ctrl.abort();
      clearTimeout(timer);
      off();
      document.removeEventListener("visibilitychange", onVisible);
      runRef.current = () => {};
    };
  }, [key, client, refreshMs]);
  return useCallback(() => runRef.current(), []);
}

function isAbort(e: unknown) {
  return e instanceof DOMException && e.name === "AbortError";
}

function useQuery<Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q> | "skip"): QueryState<FunctionReturnType<Q>> {
  const { client, onAuthError } = useSettings();
  const path = functionPath(client.module, ref);
  const key = args === "skip" ? null : `${path}|${JSON.stringify(args)}`;
  const [state, setState] = useState<{ key: string | null; data?: FunctionReturnType<Q>; error?: AdminError }>({
    key: null,
  });
  usePolling(key, async (signal) => {
    try {
      const value = (await client.query(path, JSON.parse(key!.slice(path.length + 1)), signal)) as FunctionReturnType<Q>;
      if (!signal.aborted) setState({ key, data: value });
    } catch (e) {
      if (isAbort(e) || signal.aborted) return;
      const err = toAdminError(e);
      if (err.isAuth) onAuthError?.(err);
      // Keep the last good data on a failed refresh; show the error beside it.
      setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: err }));
    }
  });
  if (key === null) return { data: undefined, error: undefined, loading: false };
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: !current,
  };
}

function useMutation<M extends AnyMutation>(ref: M) {
  const { client, onAuthError } = useSettings();
  const path = functionPath(client.module, ref);
  return useCallback(
    async (args: FunctionArgs<M>) => {
      try {
        return (await client.mutation(path, args as Record<string, unknown>)) as FunctionReturnType<M>;
      } catch (e) {
        const err = toAdminError(e);
        if (err.isAuth) onAuthError?.(err);
        throw err;
      }
    },
    [client, path, onAuthError],
  );
}

/**
 * Most pages one paginated view grows to: each poll may fetch them all
 * again (after a burst of new rows), so the view stops here and says that
 * older rows remain (capped).
 */
const MAX_PAGES = 20;

type Page<T> = PaginationResult<T>;

/** An item's identity across polls: its document id, else its JSON. */
function itemKey(x: unknown): string {
  const id = typeof x === "object" && x !== null ? (x as { _id?: unknown })._id : undefined;
  return typeof id === "string" ? id : JSON.stringify(x);
}

/**
 * The loaded pages with a freshly fetched first page in front. Pages list
 * newest first, so rows added since the last poll are all in `head`; older
 * pages keep their rows (minus those now in `head`) and the last one keeps
 * its cursor for "load more". (A row that changed after it was shown, below
 * the first page, shows its old values until the view is reloaded: request
 * logs are written once.) Returns null when `head` does not reach the
 * rows already shown (more new rows than a page): the caller reloads.
 */
export function mergeHead<T>(pages: Page<T>[], head: Page<T>): Page<T>[] | null {
  if (pages.length <= 1) return [head];
  const fresh = new Set(head.page.map(itemKey));
  const reaches = head.isDone || pages[0].page.length === 0 || pages[0].page.some((x) => fresh.has(itemKey(x)));
  if (!reaches) return null;
  // The rows pushed out of the first page join the second, so the view
  // keeps as many pages (and "load more" the last page's cursor).
  const older = (p: Page<T>) => p.page.filter((x) => !fresh.has(itemKey(x)));
  const [first, second, ...rest] = pages;
  return [head, { ...second, page: [...older(first), ...older(second)] }, ...rest.map((p) => ({ ...p, page: older(p) }))];
}

/**
 * A paginated query that polls only its first page (where new rows appear)
 * and fetches each older page once, when the view asks for more.
 */
function usePaginated<Q extends AnyQuery>(ref: Q, args: PageArgs<Q> | "skip", pageSize: number): PaginatedState<PageItem<Q>> {
  const { client, onAuthError } = useSettings();
  const path = functionPath(client.module, ref);
  const key = args === "skip" ? null : `${path}|${pageSize}|${JSON.stringify(args)}`;
  type P = Page<PageItem<Q>>;
  const [state, setState] = useState<{ key: string | null; pages: P[]; error?: AdminError; loadingMore: boolean }>({
    key: null,
    pages: [],
    loadingMore: false,
  });
  const shown = useRef<{ key: string | null; pages: P[] }>({ key: null, pages: [] });
  shown.current = state.key === key ? state : { key, pages: [] };
  const keyRef = useRef(key);
  keyRef.current = key;

  const fetchPage = (cursor: string | null, signal?: AbortSignal) =>
    client.query(path, { ...(args as object), paginationOpts: { numItems: pageSize, cursor } }, signal) as Promise<P>;

  const fail = (e: unknown) => {
    const err = toAdminError(e);
    if (err.isAuth) onAuthError?.(err);
    setState((s) => ({ ...s, key, pages: s.key === key ? s.pages : [], error: err, loadingMore: false }));
  };

  usePolling(key, async (signal) => {
    try {
      const pages = shown.current.pages;
      const head = await fetchPage(null, signal);
      let next = mergeHead(pages, head);
      if (next === null) {
        // A gap between the new first page and the rest: fetch as many pages again.
        next = [head];
        while (next.length < pages.length && !next[next.length - 1].isDone) {
          next.push(await fetchPage(next[next.length - 1].continueCursor, signal));
        }
      }
      if (!signal.aborted) setState((s) => ({ key, pages: next, loadingMore: s.key === key && s.loadingMore }));
    } catch (e) {
      if (!isAbort(e) && !signal.aborted) fail(e);
    }
  });

  const current = state.key === key;
  const pages = current ? state.pages : [];
  const last = pages[pages.length - 1];
  const loadMore = useCallback(
    (_numItems: number) => {
      if (!last || last.isDone || pages.length >= MAX_PAGES || state.loadingMore) return;
      setState((s) => ({ ...s, loadingMore: true }));
      fetchPage(last.continueCursor).then(
        (page) => {
          if (keyRef.current !== key) return;
          setState((s) => (s.key === key ? { key, pages: [...s.pages, page], loadingMore: false } : s));
        },
        (e) => {
          if (keyRef.current === key) fail(e);
        },
      );
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [last, pages.length, state.loadingMore, key],
  );
  const capped = current && !!last && !last.isDone && pages.length >= MAX_PAGES;
  let status: PaginatedState<PageItem<Q>>["status"];
  if (!current) status = "LoadingFirstPage";
  else if (state.loadingMore) status = "LoadingMore";
  else if (!last || last.isDone || capped) status = "Exhausted";
  else status = "CanLoadMore";
  return {
    results: pages.flatMap((p) => p.page),
    status,
    capped,
    error: current ? state.error : undefined,
    loadMore,
  };
}

function useRunQuery() {
  const { client } = useSettings();
  return useCallback(
    async <Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q>) => {
      try {
        return (await client.query(functionPath(client.module, ref), args as Record<string, unknown>)) as FunctionReturnType<Q>;
      } catch (e) {
        throw toAdminError(e);
      }
    },
    [client],
  );
}

function useConnection(): Connection {
  const { client } = useSettings();
  const unreachable = useSyncExternalStore(
    (cb) => client.onStatus(cb),
    () => client.isUnreachable(),
  );
  return { unreachable };
}

/**
 * Embedded mode: admin functions over the Go service's /api/query and
 * /api/mutation, in the module of the settings' client.
 */
export const httpBackend: Backend = { mode: "http", useQuery, useMutation, usePaginated, useRunQuery, useConnection };
