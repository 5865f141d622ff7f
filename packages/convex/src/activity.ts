/**
 * recordActivity: the chat app's own activities (login, message_sent,
 * file_uploaded, …), called from its Convex functions:
 *
 *   await ctx.runMutation(internal.llmmeter.recordActivity, {
 *     externalUserId: identity.subject, activityType: "message_sent",
 *   });
 *
 * The user is named the way the app names it to the gateway
 * (X-Llmmeter-User: externalUserId), or by llmmeter's own userId. An
 * external user seen for the first time gets its llmmeterUsers row, as at the
 * gateway. Same effect as an activity row through /ingest: idempotent by
 * activityKey, feeds conversationsStarted / filesUploaded and the user's
 * activity rows.
 */
import { v } from "convex/values";
import { internalMutation } from "./server";
import { badRequest } from "./lib/errors";
import { ingestBatch } from "./lib/ingest";
import { check, ShapeError } from "./lib/shape";
import { activityRow, endUserId } from "./lib/wire";
import { ensureUser } from "./users";

export const record = internalMutation({
  args: {
    /** llmmeter's id of the user; or externalUserId. */
    userId: v.optional(v.id("llmmeterUsers")),
    /** The app's id of the user, as sent in X-Llmmeter-User. */
    externalUserId: v.optional(endUserId),
    activityType: activityRow.fields.activityType,
    metadata: activityRow.fields.metadata,
    /** Idempotency key; defaults to a fresh random key (no dedupe). */
    activityKey: v.optional(v.string()),
    /** Defaults to now. */
    timestamp: v.optional(v.number()),
  },
  returns: v.object({ activityKey: v.string(), created: v.boolean() }),
  handler: async (ctx, { externalUserId, ...args }) => {
    if ((args.userId === undefined) === (externalUserId === undefined)) {
      badRequest("exactly one of userId and externalUserId is required");
    }
    let row;
    try {
      const externalId = externalUserId === undefined ? undefined : check(endUserId, externalUserId, "externalUserId");
      const userId = args.userId ?? (await ensureUser(ctx, { externalId })).userId;
      const timestamp = args.timestamp ?? Date.now();
      const activityKey = args.activityKey ?? `cvx:${userId}:${timestamp}:${crypto.randomUUID()}`;
      row = check(activityRow, { ...args, userId, activityKey, timestamp });
    } catch (e) {
      if (e instanceof ShapeError) badRequest(e.message);
      throw e;
    }
    const r = await ingestBatch(ctx, { activity: [row] }, Date.now());
    return { activityKey: row.activityKey, created: r.inserted.activity === 1 };
  },
});
