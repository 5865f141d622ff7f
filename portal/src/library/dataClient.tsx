import { ConvexProvider, type ConvexReactClient } from "convex/react";
import type { FunctionReference } from "convex/server";
import type { ReactNode } from "react";
import type { Backend } from "../data/backend";
import { convexBackend } from "../data/convexBackend";
import type { AdminError } from "../data/errors";
import { DEFAULT_MODULE, moduleOf } from "../data/functionPath";
import { httpBackend, type HttpSettings, HttpSettingsContext } from "../data/httpBackend";
import { AdminHttpClient, type HttpClientOptions } from "../data/httpClient";

/**
 * Where llmmeter's pages get their data: a backend (a set of hooks) and the
 * provider those hooks need. Make one per app, outside render (or in a
 * useMemo), and pass it to <LlmmeterProvider> or <LlmmeterPortal>.
 */
export interface DataClient {
  readonly backend: Backend;
  readonly Provider: (props: { children: ReactNode }) => ReactNode;
}

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

export interface HttpDataClientOptions extends HttpClientOptions {
  /** How often open pages poll, in ms (default 5 s). */
  refreshMs?: number;
  /** Called when the service refuses the credentials (revoked, or not an admin key). */
  onAuthError?: (e: AdminError) => void;
}

/** An HTTP data client also gives its AdminHttpClient (for one-off calls). */
export interface HttpDataClient extends DataClient {
  readonly http: AdminHttpClient;
}

/**
 * Embedded mode: the Go service's Convex-compatible /api/query and
 * /api/mutation, polled while a page is visible.
 */
export function httpDataClient(opts: HttpDataClientOptions): HttpDataClient {
  const http = new AdminHttpClient(opts);
  const settings: HttpSettings = { client: http, refreshMs: opts.refreshMs ?? 5_000, onAuthError: opts.onAuthError };
  return {
    http,
    backend: httpBackend,
    Provider: ({ children }) => <HttpSettingsContext.Provider value={settings}>{children}</HttpSettingsContext.Provider>,
  };
}
