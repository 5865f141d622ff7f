import { Layout } from "./components/Layout";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { matchRoute, useRouter } from "./router/router";
import { OverviewPage } from "./pages/OverviewPage";
import { UsagePage } from "./pages/UsagePage";
import { UsersPage } from "./pages/UsersPage";
import { UserPage } from "./pages/UserPage";
import { ModelsPage } from "./pages/ModelsPage";
import { RequestsPage } from "./pages/RequestsPage";
import { AlertsPage } from "./pages/AlertsPage";
import { ReportsPage } from "./pages/ReportsPage";
import { ForecastPage } from "./pages/ForecastPage";
import { NotFoundPage } from "./pages/NotFoundPage";

function Page({ path }: { path: string }) {
  const user = matchRoute("/users/:id", path);
  if (user) return <UserPage key={user.id} userId={user.id} />;
  switch (path) {
    case "/":
      return <OverviewPage />;
    case "/usage":
      return <UsagePage />;
    case "/users":
      return <UsersPage />;
    case "/models":
      return <ModelsPage />;
    case "/requests":
      return <RequestsPage />;
    case "/alerts":
      return <AlertsPage />;
    case "/reports":
      return <ReportsPage />;
    case "/forecast":
      return <ForecastPage />;
    default:
      return <NotFoundPage />;
  }
}

/** The signed-in portal: the left nav and the page of the current route. */
export function App() {
  const { path } = useRouter();
  return (
    <Layout>
      <ErrorBoundary resetKey={path}>
        <Page path={path} />
      </ErrorBoundary>
    </Layout>
  );
}
