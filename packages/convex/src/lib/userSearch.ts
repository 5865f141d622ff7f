/**
 * User search keys (llmmeter:searchUsers). A key is the field with ASCII
 * letters lowercased and nothing else changed: that folding is the same in
 * every engine by definition (the embedded engine indexes SQLite's lower(),
 * which folds ASCII only), where full Unicode lowercasing differs between
 * Go, V8 and SQLite (İ, final sigma) and moves with their Unicode versions,
 * which would leave stored keys unequal to a query folded later. So
 * "ZOË" finds "zoË" but not "Zoë": ids and emails are ASCII in practice.
 */
import type { Doc } from "../server";
import { badRequest } from "./errors";
import type { OrUndefined } from "./optional";

/** Longest query, in characters (code points), as the embedded engine counts. */
export const MAX_QUERY_CHARS = 200;

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

type KeyFields = OrUndefined<Pick<Doc<"llmmeterUsers">, "name" | "email" | "externalId" | "clerkUserId">>;

/** The keys a user document holds for its fields (undefined where the field is). */
export function searchKeys(u: KeyFields) {
  const id = u.externalId ?? u.clerkUserId;
  return {
    nameKey: u.name === undefined ? undefined : asciiLower(u.name),
    emailKey: u.email === undefined ? undefined : asciiLower(u.email),
    idKey: id === undefined ? undefined : asciiLower(id),
  };
}

/** The query's key; bad_request when it is empty or too long. */
export function queryKey(query: string): string {
  if (query === "") badRequest("query: must not be empty");
  if ([...query].length > MAX_QUERY_CHARS) badRequest(`query: at most ${MAX_QUERY_CHARS} characters`);
  return asciiLower(query);
}
