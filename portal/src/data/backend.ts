import type { FunctionArgs, FunctionReference, FunctionReturnType, PaginationResult } from "convex/server";
import { createContext } from "react";
import type { AdminError } from "./errors";

export type AnyQuery = FunctionReference<"query">;
export type AnyMutation = FunctionReference<"mutation">;

/** What a query hook gives a page: never throws, one shape in both modes. */
export interface QueryState<T> {
  data: T | undefined;
  error: AdminError | undefined;
  /** True until the first answer (or error) for the current arguments. */
  loading: boolean;
}

/** Arguments of a paginated query, without paginationOpts. */
export type PageArgs<Q extends AnyQuery> = Omit<FunctionArgs<Q>, "paginationOpts">;
export type PageItem<Q extends AnyQuery> =
  FunctionReturnType<Q> extends PaginationResult<infer T> ? T : never;

export type PaginatedStatus = "LoadingFirstPage" | "CanLoadMore" | "LoadingMore" | "Exhausted";

export interface PaginatedState<T> {
  results: T[];
  status: PaginatedStatus;
  /**
   * The view stopped growing at its most pages while older rows remain
   * (status Exhausted, but not the end of the data): narrower filters or a
   * shorter range reach them.
   */
  capped: boolean;
  error: AdminError | undefined;
  loadMore: (numItems: number) => void;
}

/** Whether the service answers, for the one outage banner and the health panel. */
export interface Connection {
  unreachable: boolean;
}

/**
 * The two clients behind one interface. Each implementation is a set of
 * hooks; the app picks one at start and never switches, so calling them
 * through the context keeps the rules of hooks.
 */
export interface Backend {
  mode: "convex" | "http";
  useQuery<Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q> | "skip"): QueryState<FunctionReturnType<Q>>;
  useMutation<M extends AnyMutation>(ref: M): (args: FunctionArgs<M>) => Promise<FunctionReturnType<M>>;
  usePaginated<Q extends AnyQuery>(ref: Q, args: PageArgs<Q> | "skip", pageSize: number): PaginatedState<PageItem<Q>>;
  /** A one-shot query (downloads): resolves or rejects with an AdminError. */
  useRunQuery(): <Q extends AnyQuery>(ref: Q, args: FunctionArgs<Q>) => Promise<FunctionReturnType<Q>>;
  useConnection(): Connection;
}

export const BackendContext = createContext<Backend | null>(null);
