import type { FunctionArgs, FunctionReturnType } from "convex/server";
import { useConvex, useMutation as useConvexMutation, usePaginatedQuery, useQueries } from "convex/react";
import { useCallback, useMemo } from "react";
import type { AnyMutation, AnyQuery, Backend, PageArgs, PageItem, PaginatedState, QueryState } from "./backend";
import { toAdminError } from "./errors";

function useQuery<Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q> | "skip"): QueryState<FunctionReturnType<Q>> {
  const argsKey = args === "skip" ? null : JSON.stringify(args);
  // useQueries reports errors as values instead of throwing them.
  const queries = useMemo((): Parameters<typeof useQueries>[0] => {
    if (argsKey === null) return {};
    return { q: { query: ref, args: JSON.parse(argsKey) as Record<string, never> } };
  }, [ref, argsKey]);
  const result = useQueries(queries).q as unknown;
  if (argsKey === null) return { data: undefined, error: undefined, loading: false };
  if (result instanceof Error) return { data: undefined, error: toAdminError(result), loading: false };
  if (result === undefined) return { data: undefined, error: undefined, loading: true };
  return { data: result as FunctionReturnType<Q>, error: undefined, loading: false };
}

function useMutation<M extends AnyMutation>(ref: M) {
  const mutate = useConvexMutation(ref);
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
  const r = usePaginatedQuery(ref as any, args as any, { initialNumItems: pageSize });
  return { results: r.results as PageItem<Q>[], status: r.status, error: undefined, loadMore: r.loadMore };
}

function useRunQuery() {
  const convex = useConvex();
  return useCallback(
    async <Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q>) => {
      try {
        return await convex.query(ref, args);
      } catch (e) {
        throw toAdminError(e);
      }
    },
    [convex],
  );
}

/** Convex mode: reactive queries over the Convex client's WebSocket. */
export const convexBackend: Backend = { mode: "convex", useQuery, useMutation, usePaginated, useRunQuery };
