import { type FunctionArgs, type FunctionReference, type FunctionReturnType, makeFunctionReference } from "convex/server";
import { useConvex, useConvexConnectionState, useMutation as useConvexMutation, usePaginatedQuery, useQueries } from "convex/react";
import { useCallback, useMemo } from "react";
import type { AnyMutation, AnyQuery, Backend, Connection, PageArgs, PageItem, PaginatedState, QueryState } from "./backend";
import { toAdminError } from "./errors";
import { functionPath } from "./functionPath";

/**
 * Convex mode: reactive queries over the Convex client's WebSocket (the
 * client of the nearest ConvexProvider), each function looked up in `module`
 * of the app's deployment.
 */
export function convexBackend(module: string): Backend {
  // One reference per path, so that hooks see a stable value.
  const refs = new Map<string, FunctionReference<"query" | "mutation">>();
  function resolve<R extends AnyQuery | AnyMutation>(ref: R): R {
    const path = functionPath(module, ref);
    let r = refs.get(path);
    if (!r) {
      r = makeFunctionReference<"query" | "mutation">(path);
      refs.set(path, r);
    }
    return r as R;
  }

  function useQuery<Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q> | "skip"): QueryState<FunctionReturnType<Q>> {
    const target = resolve(ref);
    const argsKey = args === "skip" ? null : JSON.stringify(args);
    // useQueries reports errors as values instead of throwing them.
    const queries = useMemo((): Parameters<typeof useQueries>[0] => {
      if (argsKey === null) return {};
      return { q: { query: target, args: JSON.parse(argsKey) as Record<string, never> } };
    }, [target, argsKey]);
    const result = useQueries(queries).q as unknown;
    if (argsKey === null) return { data: undefined, error: undefined, loading: false };
    if (result instanceof Error) return { data: undefined, error: toAdminError(result), loading: false };
    if (result === undefined) return { data: undefined, error: undefined, loading: true };
    return { data: result as FunctionReturnType<Q>, error: undefined, loading: false };
  }

  function useMutation<M extends AnyMutation>(ref: M) {
    const mutate = useConvexMutation(resolve(ref));
    return useCallback(
      async (args: FunctionArgs<M>) => {
        try {
          return (await mutate(args)) as FunctionReturnType<M>;
        } catch (e) {
          throw toAdminError(e);
        }
      },
      [mutate],
    );
  }

  function usePaginated<Q extends AnyQuery>(ref: Q, args: PageArgs<Q> | "skip", pageSize: number): PaginatedState<PageItem<Q>> {
    // Errors are thrown to the nearest error boundary (convex/react's behaviour).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = usePaginatedQuery(resolve(ref) as any, args as any, { initialNumItems: pageSize });
    return { results: r.results as PageItem<Q>[], status: r.status, capped: false, error: undefined, loadMore: r.loadMore };
  }

  function useRunQuery() {
    const convex = useConvex();
    return useCallback(
      async <Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q>) => {
        try {
          return (await convex.query(resolve(ref), args)) as FunctionReturnType<Q>;
        } catch (e) {
          throw toAdminError(e);
        }
      },
      [convex],
    );
  }

  function useConnection(): Connection {
    const s = useConvexConnectionState();
    // The client retries on its own; an outage is a socket that is down
    // after at least one failed attempt (a quick reconnect shows nothing).
    return { unreachable: !s.isWebSocketConnected && s.connectionRetries > 0 };
  }

  return { mode: "convex", useQuery, useMutation, usePaginated, useRunQuery, useConnection };
}
