/**
 * activity:record — called by the chat app's own Convex functions, e.g.
 * `await ctx.runMutation(internal.activity.record, {userId, activityType: "conversation_started"})`.
 * Same effect as an activity row through /ingest: idempotent by activityKey,
 * feeds conversationsStarted / filesUploaded and the user's activity rows.
 */
import { v } from "convex/values";
import { internalMutation } from "./server";
import { badRequest } from "./lib/errors";
import { ingestBatch } from "./lib/ingest";
import { check, ShapeError } from "./lib/shape";
import { activityRow } from "./lib/wire";

export const record = internalMutation({
  args: {
    userId: v.id("llmmeterUsers"),
    activityType: activityRow.fields.activityType,
    metadata: activityRow.fields.metadata,
    /** Idempotency key; defaults to a fresh random key (no dedupe). */
    activityKey: v.optional(v.string()),
    /** Defaults to now. */
    timestamp: v.optional(v.number()),
  },
  handler: async (ctx, args) => {
    const timestamp = args.timestamp ?? Date.now();
    const activityKey = args.activityKey ?? `cvx:${args.userId}:${timestamp}:${crypto.randomUUID()}`;
    let row;
    try {
      row = check(activityRow, { ...args, activityKey, timestamp });
    } catch (e) {
      if (e instanceof ShapeError) badRequest(e.message);
      throw e;
    }
    const r = await ingestBatch(ctx, { activity: [row] }, Date.now());
    return { activityKey, created: r.inserted.activity === 1 };
  },
});
