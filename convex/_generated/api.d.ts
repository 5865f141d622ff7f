/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as activity from "../activity.js";
import type * as admin from "../admin.js";
import type * as apiKeys from "../apiKeys.js";
import type * as fold from "../fold.js";
import type * as http from "../http.js";
import type * as ingest from "../ingest.js";
import type * as jobReads from "../jobReads.js";
import type * as jobs from "../jobs.js";
import type * as lib_aggregateRows from "../lib/aggregateRows.js";
import type * as lib_aggregates from "../lib/aggregates.js";
import type * as lib_auth from "../lib/auth.js";
import type * as lib_errors from "../lib/errors.js";
import type * as lib_http from "../lib/http.js";
import type * as lib_ingest from "../lib/ingest.js";
import type * as lib_money from "../lib/money.js";
import type * as lib_periods from "../lib/periods.js";
import type * as lib_quotas from "../lib/quotas.js";
import type * as lib_shape from "../lib/shape.js";
import type * as lib_signature from "../lib/signature.js";
import type * as lib_validators from "../lib/validators.js";
import type * as lib_window from "../lib/window.js";
import type * as lib_wire from "../lib/wire.js";
import type * as quotas from "../quotas.js";
import type * as usage from "../usage.js";
import type * as users from "../users.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  activity: typeof activity;
  admin: typeof admin;
  apiKeys: typeof apiKeys;
  fold: typeof fold;
  http: typeof http;
  ingest: typeof ingest;
  jobReads: typeof jobReads;
  jobs: typeof jobs;
  "lib/aggregateRows": typeof lib_aggregateRows;
  "lib/aggregates": typeof lib_aggregates;
  "lib/auth": typeof lib_auth;
  "lib/errors": typeof lib_errors;
  "lib/http": typeof lib_http;
  "lib/ingest": typeof lib_ingest;
  "lib/money": typeof lib_money;
  "lib/periods": typeof lib_periods;
  "lib/quotas": typeof lib_quotas;
  "lib/shape": typeof lib_shape;
  "lib/signature": typeof lib_signature;
  "lib/validators": typeof lib_validators;
  "lib/window": typeof lib_window;
  "lib/wire": typeof lib_wire;
  quotas: typeof quotas;
  usage: typeof usage;
  users: typeof users;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;
