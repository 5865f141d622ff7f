import { lazy } from "react";

// The pages of <LlmmeterPortal>, each loaded when first shown, so that the
// sign-in page and the shell do not download the dashboards and their chart
// library.
export const OverviewPage = lazy(() => import("../pages/OverviewPage").then((m) => ({ default: m.OverviewPage })));
export const UsagePage = lazy(() => import("../pages/UsagePage").then((m) => ({ default: m.UsagePage })));
export const UsersPage = lazy(() => import("../pages/UsersPage").then((m) => ({ default: m.UsersPage })));
export const UserPage = lazy(() => import("../pages/UserPage").then((m) => ({ default: m.UserPage })));
export const ModelsPage = lazy(() => import("../pages/ModelsPage").then((m) => ({ default: m.ModelsPage })));
export const RequestsPage = lazy(() => import("../pages/RequestsPage").then((m) => ({ default: m.RequestsPage })));
export const AlertsPage = lazy(() => import("../pages/AlertsPage").then((m) => ({ default: m.AlertsPage })));
export const ReportsPage = lazy(() => import("../pages/ReportsPage").then((m) => ({ default: m.ReportsPage })));
export const ErrorsPage = lazy(() => import("../pages/ErrorsPage").then((m) => ({ default: m.ErrorsPage })));
export const ForecastPage = lazy(() => import("../pages/ForecastPage").then((m) => ({ default: m.ForecastPage })));
export const JobRunsPage = lazy(() => import("../pages/JobRunsPage").then((m) => ({ default: m.JobRunsPage })));
