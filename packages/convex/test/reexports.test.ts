/**
 * Drift guard for the apps' re-export lists: convex/llmmeter.ts and
 * examples/chat-app/convex/llmmeter.ts name every function by hand (Convex
 * registers only what a module exports), so a function added to llmmeter()
 * and forgotten in one list would be missing from that deployment.
 */
import { expect, test } from "vitest";
import { httpRouter } from "convex/server";
import { addHttpRoutes, functionNames } from "../src";
import * as standalone from "../../../convex/llmmeter";
import * as chatApp from "../../../examples/chat-app/convex/llmmeter";

test.each([
  ["convex/llmmeter.ts", standalone],
  ["examples/chat-app/convex/llmmeter.ts", chatApp],
])("%s re-exports exactly the functions llmmeter() builds", (_file, mod) => {
  const exported = Object.keys(mod).sort();
  expect(exported.filter((n) => !functionNames.includes(n as never))).toEqual([]); // stale names
  expect(functionNames.filter((n) => !exported.includes(n))).toEqual([]); // forgotten names
});

test("functionNames lists the admin reads, admin mutations and internal functions once each", () => {
  // One of each kind, so that a factory refactor that drops a family shows here.
  for (const name of ["overview", "setQuota", "ingestBatch", "foldApply"]) expect(functionNames).toContain(name);
  expect(new Set(functionNames).size).toBe(functionNames.length);
  expect([...functionNames].sort()).toEqual(functionNames);
});

test("addHttpRoutes refuses a re-export module that misses a function, naming it", () => {
  const { getUser: _dropped, overview: _alsoDropped, ...partial } = standalone;
  expect(() => addHttpRoutes(httpRouter(), { functions: partial })).toThrow(
    "llmmeter: the module llmmeter does not re-export getUser, overview;",
  );
  const http = httpRouter();
  addHttpRoutes(http, { functions: standalone });
  expect(http.lookup("/ingest", "POST")).not.toBeNull();
});
