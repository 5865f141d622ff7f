import { getFunctionName } from "convex/server";
import type { FunctionArgs, FunctionReturnType, PaginationResult } from "convex/server";
import { createContext, useCallback, useContext, useEffect, useRef, useState } from "react";
import type { AnyMutation, AnyQuery, Backend, PageArgs, PageItem, PaginatedState, QueryState } from "./backend";
import { AdminError, toAdminError } from "./errors";
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
  const path = getFunctionName(ref);
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
  const path = getFunctionName(ref);
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

/** Most pages kept (and refreshed) by one paginated view. */
const MAX_PAGES = 20;

function usePaginated<Q extends AnyQuery>(ref: Q, args: PageArgs<Q> | "skip", pageSize: number): PaginatedState<PageItem<Q>> {
  const { client, onAuthError } = useSettings();
  const path = getFunctionName(ref);
  const key = args === "skip" ? null : `${path}|${pageSize}|${JSON.stringify(args)}`;
  type Page = PaginationResult<PageItem<Q>>;
  const [state, setState] = useState<{ key: string | null; pages: Page[]; error?: AdminError; loadingMore: boolean }>({
    key: null,
    pages: [],
    loadingMore: false,
  });
  const wanted = useRef(1); // pages the view shows
  const lastKey = useRef<string | null>(null);
  if (lastKey.current !== key) {
    lastKey.current = key;
    wanted.current = 1;
  }

  const fetchChain = async (signal: AbortSignal, count: number): Promise<Page[]> => {
    const pages: Page[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < count; i++) {
      const page = (await client.query(
        path,
        { ...(args as object), paginationOpts: { numItems: pageSize, cursor } },
        signal,
      )) as Page;
      pages.push(page);
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    return pages;
  };

  const refresh = async (signal: AbortSignal) => {
    try {
      const pages = await fetchChain(signal, wanted.current);
      if (!signal.aborted) setState({ key, pages, loadingMore: false });
    } catch (e) {
      if (isAbort(e) || signal.aborted) return;
      const err = toAdminError(e);
      if (err.isAuth) onAuthError?.(err);
      setState((s) => ({ ...s, key, pages: s.key === key ? s.pages : [], error: err, loadingMore: false }));
    }
  };
  const refetch = usePolling(key, refresh);

  const current = state.key === key;
  const pages = current ? state.pages : [];
  const last = pages[pages.length - 1];
  const loadMore = useCallback(
    (_numItems: number) => {
      if (!last || last.isDone || wanted.current >= MAX_PAGES) return;
      wanted.current += 1;
      setState((s) => ({ ...s, loadingMore: true }));
      refetch();
    },
    [last, refetch],
  );
  let status: PaginatedState<PageItem<Q>>["status"];
  if (!current) status = "LoadingFirstPage";
  else if (state.loadingMore) status = "LoadingMore";
  else if (!last || last.isDone || wanted.current >= MAX_PAGES) status = "Exhausted";
  else status = "CanLoadMore";
  return {
    results: pages.flatMap((p) => p.page),
    status,
    error: current ? state.error : undefined,
    loadMore,
  };
}

function useRunQuery() {
  const { client } = useSettings();
  return useCallback(
    async <Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q>) => {
      try {
        return (await client.query(getFunctionName(ref), args as Record<string, unknown>)) as FunctionReturnType<Q>;
      } catch (e) {
        throw toAdminError(e);
      }
    },
    [client],
  );
}

/** Embedded mode: admin functions over the Go service's /api/query and /api/mutation. */
export const httpBackend: Backend = { mode: "http", useQuery, useMutation, usePaginated, useRunQuery };
