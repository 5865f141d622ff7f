/**
 * The admin function references, straight from the Convex codegen. Pages
 * pass these to the data layer (hooks.ts) for their types and names; the
 * data client puts each name in its own module (functionPath.ts), so pages
 * never name a module.
 */
import { api } from "../../../convex/_generated/api";
import type { FunctionReturnType } from "convex/server";
import { moduleOf } from "./functionPath";

export const admin = api.llmmeter;

/** The module this repo's own Convex app serves the functions from. */
export const APP_MODULE = moduleOf(admin.overview);

export type Overview = FunctionReturnType<typeof admin.overview>;
export type Health = NonNullable<Overview["health"]>;
export type SeriesPoint = FunctionReturnType<typeof admin.usageSeries>[number];
export type TopUser = FunctionReturnType<typeof admin.topUsers>[number];
export type UserDetail = FunctionReturnType<typeof admin.userDetail>;
export type Quota = UserDetail["quotas"][number];
export type ActivityItem = UserDetail["recentActivity"][number];
export type ModelStat = FunctionReturnType<typeof admin.modelStats>[number];
export type RequestLog = FunctionReturnType<typeof admin.requestLogs>["page"][number];
export type Alert = FunctionReturnType<typeof admin.alerts>[number];
export type ReportSummary = FunctionReturnType<typeof admin.reports>[number];
export type Report = FunctionReturnType<typeof admin.report>;
export type Forecast = FunctionReturnType<typeof admin.forecast>;
export type ForecastRow = Forecast["rows"][number];
export type JobRun = FunctionReturnType<typeof admin.jobRuns>[number];
export type Period = "hourly" | "daily" | "weekly" | "monthly";
export type QuotaType = Quota["quotaType"];
export type Severity = Alert["severity"];
