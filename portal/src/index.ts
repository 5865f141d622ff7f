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

export { convexDataClient, httpDataClient } from "./library/dataClient";
export type { ConvexDataClientOptions, DataClient, HttpDataClient, HttpDataClientOptions } from "./library/dataClient";
export { LlmmeterProvider } from "./library/Provider";
export type { LlmmeterProviderProps } from "./library/Provider";
export { LlmmeterPortal } from "./library/Portal";
export type { Session } from "./auth/sessionContext";
export { AdminError } from "./data/errors";
export { AdminHttpClient } from "./data/httpClient";
export type { HttpClientOptions } from "./data/httpClient";
export { DEFAULT_MODULE } from "./data/functionPath";

// Single pages, for an app that routes them itself (inside LlmmeterProvider).
export { OverviewPage } from "./pages/OverviewPage";
export { UsagePage } from "./pages/UsagePage";
export { UsersPage } from "./pages/UsersPage";
export { UserPage } from "./pages/UserPage";
export { ModelsPage } from "./pages/ModelsPage";
export { RequestsPage } from "./pages/RequestsPage";
export { AlertsPage } from "./pages/AlertsPage";
export { ReportsPage } from "./pages/ReportsPage";
export { ForecastPage } from "./pages/ForecastPage";
