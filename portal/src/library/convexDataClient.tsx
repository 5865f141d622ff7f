import { ConvexProvider, type ConvexReactClient } from "convex/react";
import type { FunctionReference } from "convex/server";
import { convexBackend } from "../data/convexBackend";
import { DEFAULT_MODULE, moduleOf } from "../data/functionPath";
import type { DataClient } from "./dataClient";

export interface ConvexDataClientOptions {
  /** The app's Convex client, already authenticated (e.g. by ConvexProviderWithClerk). */
  client: ConvexReactClient;
  /**
   * The app's re-exported llmmeter functions (`api.llmmeter` from its
   * convex/_generated/api): their module is used for every path.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  functions?: { overview: FunctionReference<"query", "public", any, any> };
  /** The module name when `functions` is not given; default "llmmeter". */
  module?: string;
}

/** Convex mode: reactive queries through the app's ConvexReactClient. */
export function convexDataClient(opts: ConvexDataClientOptions): DataClient {
  const module = opts.functions ? moduleOf(opts.functions.overview) : (opts.module ?? DEFAULT_MODULE);
  const { client } = opts;
  return {
    backend: convexBackend(module),
    Provider: ({ children }) => <ConvexProvider client={client}>{children}</ConvexProvider>,
  };
}

