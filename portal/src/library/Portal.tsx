import { Suspense, useEffect, useRef, useState } from "react";
import { useConnection } from "../data/hooks";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { Layout } from "../components/Layout";
import { OutageBanner } from "../components/OutageBanner";
import { Loading } from "../components/States";
import { NotFoundPage } from "../pages/NotFoundPage";
import { matchRoute, useRouter } from "../router/router";
import { LlmmeterProvider, type LlmmeterProviderProps } from "./Provider";
import * as P from "./routes";

function Page({ path }: { path: string }) {
  const user = matchRoute("/users/:id", path);
  if (user) return <P.UserPage key={user.id} userId={user.id} />;
  switch (path) {
    case "/":
      return <P.OverviewPage />;
    case "/usage":
      return <P.UsagePage />;
    case "/users":
      return <P.UsersPage />;
    case "/models":
      return <P.ModelsPage />;
    case "/requests":
      return <P.RequestsPage />;
    case "/alerts":
      return <P.AlertsPage />;
    case "/reports":
      return <P.ReportsPage />;
    case "/errors":
      return <P.ErrorsPage />;
    case "/forecast":
      return <P.ForecastPage />;
    case "/jobs":
      return <P.JobRunsPage />;
    default:
      return <NotFoundPage />;
  }
}

/**
 * Counts the service's returns after an outage, so that a page that failed
 * meanwhile (its code could not be fetched) is tried again without a reload.
 */
function useReconnects(): number {
  const { unreachable } = useConnection();
  const [count, setCount] = useState(0);
  const was = useRef(unreachable);
  useEffect(() => {
    if (was.current && !unreachable) setCount((n) => n + 1);
    was.current = unreachable;
  }, [unreachable]);
  return count;
}

/** The signed-in portal: the left nav and the page of the current route. */
function Routes() {
  const { path } = useRouter();
  const reconnects = useReconnects();
  return (
    <Layout>
      <OutageBanner />
      <ErrorBoundary resetKey={`${path}#${reconnects}`}>
        <Suspense fallback={<Loading />}>
          <Page path={path} />
        </Suspense>
      </ErrorBoundary>
    </Layout>
  );
}

/**
 * The whole portal (navigation and every page) below `base`, for an app
 * that gives llmmeter one route: `<Route path="/ops/llmmeter/*" element={…}>`.
 */
export function LlmmeterPortal(props: Omit<LlmmeterProviderProps, "children" | "outageBanner">) {
  return (
    <LlmmeterProvider {...props} outageBanner={false}>
      <Routes />
    </LlmmeterProvider>
  );
}
