/** A chat app's schema: its own users, conversations and messages beside llmmeter's tables. */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { llmmeterTables } from "../../src";

export default defineSchema({
  ...llmmeterTables,
  users: defineTable({ clerkId: v.string(), name: v.string(), isAdmin: v.boolean() }).index("by_clerk_id", ["clerkId"]),
  conversations: defineTable({ userId: v.id("users"), title: v.string() }),
  messages: defineTable({ conversationId: v.id("conversations"), body: v.string() }),
});
