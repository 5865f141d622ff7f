/**
 * This deployment's schema: llmmeter's tables (the @llmmeter/convex
 * workspace package) and nothing else. A chat app spreads the same
 * llmmeterTables next to its own users, conversations and messages.
 */
import { defineSchema } from "convex/server";
import { llmmeterTables } from "@llmmeter/convex";

export default defineSchema({
  ...llmmeterTables,
});
