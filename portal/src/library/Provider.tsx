import { type ReactNode, Suspense } from "react";
import { type Session, SessionContext } from "../auth/sessionContext";
import { OutageBanner } from "../components/OutageBanner";
import { Loading } from "../components/States";
import { BackendContext } from "../data/backend";
import { RouterProvider } from "../router/router";
import type { DataClient } from "./dataClient";

export interface LlmmeterProviderProps {
  /** From convexDataClient or httpDataClient. */
  client: DataClient;
  /**
   * The URL path the pages live under ("/ops/llmmeter"); links between
   * pages and the range kept in the query string stay below it.
   */
  base?: string;
  /** Who is signed in, shown in the portal's sidebar, and how to sign out. */
  session?: Session;
  /** Show the one outage banner above the children (default true). */
  outageBanner?: boolean;
  children: ReactNode;
}

const NO_SESSION: Session = { label: "", signOut: () => {} };

/**
 * Everything llmmeter's pages need from their surroundings: the data client,
 * a router below `base`, the session. Mount single pages inside it, or use
 * <LlmmeterPortal> for all of them with their navigation.
 */
export function LlmmeterProvider({ client, base = "", session = NO_SESSION, outageBanner = true, children }: LlmmeterProviderProps) {
  const { Provider } = client;
  return (
    <Provider>
      <BackendContext.Provider value={client.backend}>
        <SessionContext.Provider value={session}>
          <RouterProvider base={base}>
            {outageBanner && <OutageBanner />}
            <Suspense fallback={<Loading />}>{children}</Suspense>
          </RouterProvider>
        </SessionContext.Provider>
      </BackendContext.Provider>
    </Provider>
  );
}
