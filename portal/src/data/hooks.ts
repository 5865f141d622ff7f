import type { FunctionArgs, FunctionReturnType } from "convex/server";
import { useContext } from "react";
import { type AnyMutation, type AnyQuery, BackendContext, type PageArgs } from "./backend";

function useBackend() {
  const b = useContext(BackendContext);
  if (!b) throw new Error("no data client: mount llmmeter's pages inside <LlmmeterProvider client={…}>");
  return b;
}

/** Live result of an admin query: refreshed by Convex, or polled in embedded mode. */
export function useAdminQuery<Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q> | "skip") {
  return useBackend().useQuery(ref, args);
}

/** A function that runs an admin mutation; rejects with an AdminError. */
export function useAdminMutation<M extends AnyMutation>(
  ref: M,
): (args: FunctionArgs<M>) => Promise<FunctionReturnType<M>> {
  return useBackend().useMutation(ref);
}

/** A paginated admin query (newest first), grown page by page with loadMore. */
export function useAdminPaginated<Q extends AnyQuery>(ref: Q, args: PageArgs<Q> | "skip", pageSize: number) {
  return useBackend().usePaginated(ref, args, pageSize);
}

/** Runs one query once (e.g. to download a report). */
export function useRunAdminQuery() {
  return useBackend().useRunQuery();
}

/** Which client the app uses. */
export function useDataMode() {
  return useBackend().mode;
}

/** Whether the service answers (network errors, or a gateway's 502/503/504). */
export function useConnection() {
  return useBackend().useConnection();
}
