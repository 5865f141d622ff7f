import type { AdminError } from "../data/errors";
import { httpBackend, type HttpSettings, HttpSettingsContext } from "../data/httpBackend";
import { AdminHttpClient, type HttpClientOptions } from "../data/httpClient";
import type { DataClient } from "./dataClient";

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
