/** Internal API-key functions behind /apikeys/*. Only hashes are stored. */
import type { Doc } from "./server";
import { signedMutation } from "./lib/nonces";
import { internalQuery } from "./server";
import { badRequest, fail, notFound } from "./lib/errors";
import { apiKeyCreateBody, apiKeyListBody, apiKeyLookupBody, apiKeyRevokeBody } from "./lib/wire";

/** lastUsedAt is refreshed by lookups at most this often per key. */
export const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_LIST = 500;

function keyView(k: Doc<"apiKeys">) {
  return {
    id: k._id,
    userId: k.userId,
    isAdmin: k.isAdmin,
    isService: k.isService ?? false,
    revoked: k.revokedAt !== undefined,
    prefix: k.prefix,
    name: k.name,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt ?? null,
    lastUsedAt: k.lastUsedAt ?? null,
  };
}

/**
 * {key} for a key hash, or {key: null}. A mutation so that it can refresh
 * lastUsedAt (at most once a minute per key, to keep lookups cheap).
 */
export const lookup = signedMutation({
  args: apiKeyLookupBody.fields,
  handler: async (ctx, args) => {
    const k = await ctx.db
      .query("apiKeys")
      .withIndex("by_key_hash", (q) => q.eq("keyHash", args.keyHash))
      .first();
    if (!k) return { key: null };
    const now = Date.now();
    if (k.revokedAt === undefined && (k.lastUsedAt === undefined || now - k.lastUsedAt >= LAST_USED_RESOLUTION_MS)) {
      await ctx.db.patch(k._id, { lastUsedAt: now });
    }
    const { id, userId, isAdmin, isService, revoked, prefix, name } = keyView(k);
    return { key: { id, userId, isAdmin, isService, revoked, prefix, name } };
  },
});

/**
 * Creates a key for an existing user: {id}; conflict (409) if the hash
 * exists. With onlyFirst, only if no key exists at all, else {id: null}: the
 * bootstrap admin key, which replicas starting together on an empty
 * deployment all try to create (this read and the insert are one
 * transaction, so one of them does).
 */
export const create = signedMutation({
  args: apiKeyCreateBody.fields,
  handler: async (ctx, { onlyFirst, ...args }) => {
    if (onlyFirst && (await ctx.db.query("apiKeys").first()) !== null) return { id: null };
    const userId = ctx.db.normalizeId("llmmeterUsers", args.userId);
    if (userId === null || (await ctx.db.get(userId)) === null) badRequest("userId: not the id of an existing user");
    const dup = await ctx.db
      .query("apiKeys")
      .withIndex("by_key_hash", (q) => q.eq("keyHash", args.keyHash))
      .first();
    if (dup) fail("conflict", "keyHash: an API key with this hash exists");
    // A service key acts for other people (the end users it names), so it
    // never carries admin rights.
    if (args.isAdmin && args.isService) badRequest("isService: a key is an admin key or a service key, not both");
    const id = await ctx.db.insert("apiKeys", { ...args, userId, createdAt: Date.now() });
    return { id };
  },
});

/** Keys of a user, or the newest 500 keys; newest first; never the hash. */
export const list = internalQuery({
  args: apiKeyListBody.fields,
  handler: async (ctx, args) => {
    let keys: Doc<"apiKeys">[];
    if (args.userId !== undefined) {
      const userId = ctx.db.normalizeId("llmmeterUsers", args.userId);
      if (userId === null) badRequest("userId: not a users id");
      keys = await ctx.db
        .query("apiKeys")
        .withIndex("by_user_id", (q) => q.eq("userId", userId))
        .order("desc")
        .take(MAX_LIST);
    } else {
      keys = await ctx.db.query("apiKeys").withIndex("by_created_at").order("desc").take(MAX_LIST);
    }
    return { keys: keys.map(keyView) };
  },
});

/** Revokes a key; {revoked: false} if it was already revoked. */
export const revoke = signedMutation({
  args: apiKeyRevokeBody.fields,
  handler: async (ctx, args) => {
    const id = ctx.db.normalizeId("apiKeys", args.id);
    if (id === null) badRequest("id: not an apiKeys id");
    const k = await ctx.db.get(id);
    if (!k) notFound("id: no such API key");
    if (k.revokedAt !== undefined) return { revoked: false, revokedAt: k.revokedAt };
    const revokedAt = Date.now();
    await ctx.db.patch(id, { revokedAt });
    return { revoked: true, revokedAt };
  },
});
