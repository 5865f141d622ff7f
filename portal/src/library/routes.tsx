import { type ComponentType, createElement, lazy } from "react";

/**
 * React.lazy keeps a failed import forever: a page first opened while the
 * service was down (its chunk not fetched) stayed "This page failed" until
 * a reload, even after the service was back and the user navigated away
 * and back. This one forgets a failed import, so the next render of the
 * page (a new route, or the error boundary's reset) fetches it again.
 */
function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  const make = () =>
    lazy(() =>
      load().then(
        (c) => ({ default: c }),
        (e: unknown) => {
          current = make();
          throw e;
        },
      ),
    );
  let current = make();
  return (props: P) => createElement(current, props);
}

// The pages of <LlmmeterPortal>, each loaded when first shown, so that the
// sign-in page and the shell do not download the dashboards and their chart
// library.
export const OverviewPage = lazyPage(() => import("../pages/OverviewPage").then((m) => m.OverviewPage));
export const UsagePage = lazyPage(() => import("../pages/UsagePage").then((m) => m.UsagePage));
export const UsersPage = lazyPage(() => import("../pages/UsersPage").then((m) => m.UsersPage));
export const UserPage = lazyPage(() => import("../pages/UserPage").then((m) => m.UserPage));
export const ModelsPage = lazyPage(() => import("../pages/ModelsPage").then((m) => m.ModelsPage));
export const RequestsPage = lazyPage(() => import("../pages/RequestsPage").then((m) => m.RequestsPage));
export const AlertsPage = lazyPage(() => import("../pages/AlertsPage").then((m) => m.AlertsPage));
export const ReportsPage = lazyPage(() => import("../pages/ReportsPage").then((m) => m.ReportsPage));
export const ErrorsPage = lazyPage(() => import("../pages/ErrorsPage").then((m) => m.ErrorsPage));
export const ForecastPage = lazyPage(() => import("../pages/ForecastPage").then((m) => m.ForecastPage));
export const JobRunsPage = lazyPage(() => import("../pages/JobRunsPage").then((m) => m.JobRunsPage));
