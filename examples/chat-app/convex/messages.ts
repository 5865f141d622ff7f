/** The chat app's own tables: its users, conversations and messages. */
import { v } from "convex/values";
import { internalMutation, query } from "./_generated/server";

/** Starts a turn: the user (by Clerk subject), the conversation, the user's message and an empty assistant message. */
export const start = internalMutation({
  args: {
    clerkUserId: v.string(),
    name: v.optional(v.string()),
    email: v.optional(v.string()),
    conversationId: v.optional(v.id("conversations")),
    content: v.string(),
  },
  returns: v.object({
    conversationId: v.id("conversations"),
    assistantId: v.id("messages"),
    history: v.array(v.object({ role: v.union(v.literal("user"), v.literal("assistant")), content: v.string() })),
  }),
  handler: async (ctx, args) => {
    const existing = await ctx.db
      .query("users")
      .withIndex("by_clerk_user_id", (q) => q.eq("clerkUserId", args.clerkUserId))
      .unique();
    const userId = existing?._id ?? (await ctx.db.insert("users", { clerkUserId: args.clerkUserId, name: args.name, email: args.email }));
    let conversationId = args.conversationId;
    if (conversationId === undefined) {
      conversationId = await ctx.db.insert("conversations", { userId, title: args.content.slice(0, 80) });
    } else {
      const c = await ctx.db.get(conversationId);
      if (c === null || c.userId !== userId) throw new Error("no such conversation");
    }
    await ctx.db.insert("messages", { conversationId, role: "user", content: args.content, status: "done" });
    const history = (
      await ctx.db
        .query("messages")
        .withIndex("by_conversation_id", (q) => q.eq("conversationId", conversationId))
        .collect()
    ).map((m) => ({ role: m.role, content: m.content }));
    const assistantId = await ctx.db.insert("messages", { conversationId, role: "assistant", content: "", status: "streaming" });
    return { conversationId, assistantId, history };
  },
});

export const write = internalMutation({
  args: {
    messageId: v.id("messages"),
    content: v.string(),
    status: v.union(v.literal("streaming"), v.literal("done"), v.literal("failed")),
  },
  returns: v.null(),
  handler: async (ctx, args) => {
    await ctx.db.patch(args.messageId, { content: args.content, status: args.status });
    return null;
  },
});

/** The signed-in user's messages of one conversation, oldest first. */
export const list = query({
  args: { conversationId: v.id("conversations") },
  returns: v.array(
    v.object({
      _id: v.id("messages"),
      _creationTime: v.number(),
      conversationId: v.id("conversations"),
      role: v.union(v.literal("user"), v.literal("assistant")),
      content: v.string(),
      status: v.union(v.literal("streaming"), v.literal("done"), v.literal("failed")),
    }),
  ),
  handler: async (ctx, args) => {
    const identity = await ctx.auth.getUserIdentity();
    if (identity === null) return [];
    const user = await ctx.db
      .query("users")
      .withIndex("by_clerk_user_id", (q) => q.eq("clerkUserId", identity.subject))
      .unique();
    const conversation = await ctx.db.get(args.conversationId);
    if (user === null || conversation === null || conversation.userId !== user._id) return [];
    return await ctx.db
      .query("messages")
      .withIndex("by_conversation_id", (q) => q.eq("conversationId", args.conversationId))
      .collect();
  },
});
