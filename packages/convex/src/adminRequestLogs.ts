/**
 * llmmeter:requestLogs — the Requests page as an investigation tool: request
 * logs newest first, filtered by status, user, model, API key, conversation
 * and time range, searched by request id or generation id, each row with the
 * tokens and cost of its usage row on request (`withUsage`).
 *
 * Index plan (the embedded engine, internal/store/sqlitestore/admin_requestlogs.go,
 * chooses the same range): the most selective filter picks the index —
 * requestId, then generationId, then conversationId, then apiKeyId (with
 * status), then the user/model/status combinations, each an exact index range
 * with the time range. Filters the chosen index does not hold are applied to
 * the rows of that range, reading at most REQUEST_LOG_SCAN_ROWS rows a page:
 * such a page can come back short with isDone false, and the next page goes
 * on from where the scan stopped. Without such filters a page reads only its
 * own rows. (Every combination as its own index would need 32 of Convex's
 * 32 indexes a table.)
 */
import { paginationOptsValidator } from "convex/server";
import { ConvexError, v } from "convex/values";
import type { ExpressionOrValue, FilterBuilder, NamedTableInfo } from "convex/server";
import type { DataModel, Doc, QueryCtx } from "./server";
import type { AdminBuilders } from "./lib/auth";
import { badRequest } from "./lib/errors";
import { vRequestLogPage } from "./lib/results";
import { vRequestStatus } from "./lib/validators";
import { idOf, MAX_PAGE_SIZE } from "./admin";

/** Rows one page reads at most when some filter is not part of its index range. */
export const REQUEST_LOG_SCAN_ROWS = 2000;

type Filters = {
  status?: Doc<"requestLogs">["status"] | undefined;
  userId?: Doc<"requestLogs">["userId"] | undefined;
  model?: string | undefined;
  apiKeyId?: Doc<"requestLogs">["apiKeyId"] | undefined;
  conversationId?: string | undefined;
  requestId?: string | undefined;
  generationId?: string | undefined;
  lo: number;
  hi: number;
};
type Key = "status" | "userId" | "model" | "apiKeyId" | "conversationId" | "requestId" | "generationId" | "time";

/** The index range for the filters and the filters it holds. */
function range(ctx: QueryCtx, f: Filters) {
  const t = ctx.db.query("requestLogs");
  const { status, userId, model, apiKeyId, conversationId, lo, hi } = f;
  if (f.requestId !== undefined) {
    return { q: t.withIndex("by_request_id", (q) => q.eq("requestId", f.requestId!)), holds: ["requestId"] as Key[] };
  }
  if (f.generationId !== undefined) {
    return { q: t.withIndex("by_generation_id", (q) => q.eq("generationId", f.generationId)), holds: ["generationId"] as Key[] };
  }
  if (conversationId !== undefined) {
    return {
      q: t.withIndex("by_conversation_id_and_timestamp", (q) => q.eq("conversationId", conversationId).gte("timestamp", lo).lt("timestamp", hi)),
      holds: ["conversationId", "time"] as Key[],
    };
  }
  if (apiKeyId !== undefined) {
    return status !== undefined
      ? {
          q: t.withIndex("by_api_key_id_and_status_and_timestamp", (q) =>
            q.eq("apiKeyId", apiKeyId).eq("status", status).gte("timestamp", lo).lt("timestamp", hi),
          ),
          holds: ["apiKeyId", "status", "time"] as Key[],
        }
      : {
          q: t.withIndex("by_api_key_id_and_timestamp", (q) => q.eq("apiKeyId", apiKeyId).gte("timestamp", lo).lt("timestamp", hi)),
          holds: ["apiKeyId", "time"] as Key[],
        };
  }
  const holds: Key[] = ["time"];
  if (userId !== undefined) holds.push("userId");
  if (model !== undefined) holds.push("model");
  if (status !== undefined) holds.push("status");
  const q =
    userId !== undefined && model !== undefined && status !== undefined
      ? t.withIndex("by_user_id_and_model_and_status_and_timestamp", (q) =>
          q.eq("userId", userId).eq("model", model).eq("status", status).gte("timestamp", lo).lt("timestamp", hi),
        )
      : userId !== undefined && model !== undefined
        ? t.withIndex("by_user_id_and_model_and_timestamp", (q) =>
            q.eq("userId", userId).eq("model", model).gte("timestamp", lo).lt("timestamp", hi),
          )
        : userId !== undefined && status !== undefined
          ? t.withIndex("by_user_id_and_status_and_timestamp", (q) =>
              q.eq("userId", userId).eq("status", status).gte("timestamp", lo).lt("timestamp", hi),
            )
          : model !== undefined && status !== undefined
            ? t.withIndex("by_model_and_status_and_timestamp", (q) =>
                q.eq("model", model).eq("status", status).gte("timestamp", lo).lt("timestamp", hi),
              )
            : userId !== undefined
              ? t.withIndex("by_user_id_and_timestamp", (q) => q.eq("userId", userId).gte("timestamp", lo).lt("timestamp", hi))
              : model !== undefined
                ? t.withIndex("by_model_and_timestamp", (q) => q.eq("model", model).gte("timestamp", lo).lt("timestamp", hi))
                : status !== undefined
                  ? t.withIndex("by_status_and_timestamp", (q) => q.eq("status", status).gte("timestamp", lo).lt("timestamp", hi))
                  : t.withIndex("by_timestamp", (q) => q.gte("timestamp", lo).lt("timestamp", hi));
  return { q, holds };
}

/** The filters a range does not hold, as one Convex filter (undefined: none). */
function residual(f: Filters, holds: Key[]) {
  const eqs: [Key, "status" | "userId" | "model" | "apiKeyId" | "conversationId" | "generationId", string | undefined][] = [
    ["status", "status", f.status],
    ["userId", "userId", f.userId],
    ["model", "model", f.model],
    ["apiKeyId", "apiKeyId", f.apiKeyId],
    ["conversationId", "conversationId", f.conversationId],
    ["generationId", "generationId", f.generationId],
  ];
  const left = eqs.filter(([key, , value]) => value !== undefined && !holds.includes(key));
  const timed = !holds.includes("time") && (f.lo !== Number.MIN_SAFE_INTEGER || f.hi !== Number.MAX_SAFE_INTEGER);
  if (left.length === 0 && !timed) return undefined;
  return (q: FilterBuilder<NamedTableInfo<DataModel, "requestLogs">>) => {
    const conds: ExpressionOrValue<boolean>[] = left.map(([, field, value]) => q.eq(q.field(field), value));
    if (timed) conds.push(q.gte(q.field("timestamp"), f.lo), q.lt(q.field("timestamp"), f.hi));
    return q.and(...conds);
  };
}

/** The tokens and cost of a request's usage row (none for refusals and failures before a generation). */
async function usageOf(ctx: QueryCtx, generationId: string | undefined) {
  if (generationId === undefined) return undefined;
  const u = await ctx.db
    .query("usageTracking")
    .withIndex("by_generation_id", (q) => q.eq("generationId", generationId))
    .first();
  if (u === null) return undefined;
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.totalTokens,
    cachedTokens: u.cachedTokens,
    reasoningTokens: u.reasoningTokens,
    costNanoUsd: u.costNanoUsd,
    costStatus: u.costStatus,
  };
}

export const requestLogs = (b: AdminBuilders) =>
  b.query({
    args: {
      paginationOpts: paginationOptsValidator,
      status: v.optional(vRequestStatus),
      userId: v.optional(v.string()),
      modelSlug: v.optional(v.string()),
      apiKeyId: v.optional(v.string()),
      conversationId: v.optional(v.string()),
      requestId: v.optional(v.string()),
      generationId: v.optional(v.string()),
      from: v.optional(v.number()),
      to: v.optional(v.number()),
      withUsage: v.optional(v.boolean()),
    },
    returns: vRequestLogPage,
    handler: async (ctx, args) => {
      const n = args.paginationOpts.numItems;
      if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
        badRequest(`paginationOpts.numItems: expected integer in [1, ${MAX_PAGE_SIZE}]`);
      }
      if (args.from !== undefined && args.to !== undefined && args.from > args.to) badRequest("to: must not be before from");
      for (const k of ["conversationId", "requestId", "generationId"] as const) {
        if (args[k] === "") badRequest(`${k}: must not be empty`);
      }
      const f: Filters = {
        status: args.status,
        userId: args.userId === undefined ? undefined : idOf(ctx, "llmmeterUsers", args.userId, "userId"),
        model: args.modelSlug,
        apiKeyId: args.apiKeyId === undefined ? undefined : idOf(ctx, "apiKeys", args.apiKeyId, "apiKeyId"),
        conversationId: args.conversationId,
        requestId: args.requestId,
        generationId: args.generationId,
        // An absent bound is the widest one, so every branch is one typed index range.
        lo: args.from ?? Number.MIN_SAFE_INTEGER,
        hi: args.to ?? Number.MAX_SAFE_INTEGER,
      };
      const { q, holds } = range(ctx, f);
      const keep = residual(f, holds);
      let result;
      try {
        result = keep
          ? await q.order("desc").filter(keep).paginate({ ...args.paginationOpts, maximumRowsRead: REQUEST_LOG_SCAN_ROWS })
          : await q.order("desc").paginate(args.paginationOpts);
      } catch (e) {
        // A cursor that is not one of ours (garbage, or from another filter
        // combination's index) is the caller's mistake, not a server error.
        if (args.paginationOpts.cursor !== null && !(e instanceof ConvexError)) badRequest("paginationOpts.cursor: invalid cursor");
        throw e;
      }
      if (args.withUsage !== true) return result;
      return {
        ...result,
        page: await Promise.all(
          result.page.map(async (r) => {
            const usage = await usageOf(ctx, r.generationId);
            return usage === undefined ? r : { ...r, usage };
          }),
        ),
      };
    },
  });
