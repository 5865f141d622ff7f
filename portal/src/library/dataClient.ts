import type { ReactNode } from "react";
import type { Backend } from "../data/backend";

/**
 * Where llmmeter's pages get their data: a backend (a set of hooks) and the
 * provider those hooks need. Make one per app, outside render (or in a
 * useMemo), and pass it to <LlmmeterProvider> or <LlmmeterPortal>:
 * convexDataClient (convexDataClient.tsx) or httpDataClient (httpDataClient.tsx).
 */
export interface DataClient {
  readonly backend: Backend;
  readonly Provider: (props: { children: ReactNode }) => ReactNode;
}
