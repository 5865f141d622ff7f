/**
 * The chat app's schema: its own users, conversations and messages, and
 * llmmeter's tables spread beside them (they cannot collide: llmmeter's
 * names are its own, e.g. llmmeterUsers).
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { llmmeterTables } from "@llmmeter/convex";

export default defineSchema({
  ...llmmeterTables,

  users: defineTable({
    clerkUserId: v.string(),
    name: v.optional(v.string()),
    email: v.optional(v.string()),
  }).index("by_clerk_user_id", ["clerkUserId"]),

  conversations: defineTable({
    userId: v.id("users"),
    title: v.string(),
  }).index("by_user_id", ["userId"]),

  messages: defineTable({
    conversationId: v.id("conversations"),
    role: v.union(v.literal("user"), v.literal("assistant")),
    content: v.string(),
    status: v.union(v.literal("streaming"), v.literal("done"), v.literal("failed")),
  }).index("by_conversation_id", ["conversationId"]),
});
