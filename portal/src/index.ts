/**
 * llmmeter's admin pages as a library, for an app's own React admin portal.
 *
 *   const data = convexDataClient({ client: convex, functions: api.llmmeter });
 *   <Route path="/ops/llmmeter/*" element={<LlmmeterPortal client={data} base="/ops/llmmeter" />} />
 *
 * or single pages inside <LlmmeterProvider client={data} base="…">. The
 * standalone portal (main.tsx) is built on this entry too. See README.md.
 */
import "./styles.css";

export type { DataClient } from "./library/dataClient";
export { convexDataClient } from "./library/convexDataClient";
export type { ConvexDataClientOptions } from "./library/convexDataClient";
export { httpDataClient } from "./library/httpDataClient";
export type { HttpDataClient, HttpDataClientOptions } from "./library/httpDataClient";
export { LlmmeterProvider } from "./library/Provider";
export type { LlmmeterProviderProps } from "./library/Provider";
export { LlmmeterPortal } from "./library/Portal";
export type { Session } from "./auth/sessionContext";
export { AdminError } from "./data/errors";
export { AdminHttpClient } from "./data/httpClient";
export type { HttpClientOptions } from "./data/httpClient";
export { DEFAULT_MODULE } from "./data/functionPath";

// Single pages, for an app that routes them itself (inside LlmmeterProvider,
// whose Suspense boundary shows "Loading…" while a page's code arrives).
export {
  AlertsPage,
  ErrorsPage,
  ForecastPage,
  JobRunsPage,
  ModelsPage,
  OverviewPage,
  ReportsPage,
  RequestsPage,
  UsagePage,
  UserPage,
  UsersPage,
} from "./library/routes";
