/**
 * Expected failures are `ConvexError({code, message})`. Codes:
 * - "unauthenticated", "forbidden": admin access check (lib/auth.ts);
 * - "bad_request": invalid arguments or payload, message names the field;
 * - "not_found": a referenced document does not exist;
 * - "conflict": a unique key is already taken (e.g. an API key hash);
 * - "replayed": a signed request's nonce was already accepted (lib/nonces.ts);
 * - "misconfigured": a required env var is missing or invalid.
 * The HTTP actions map them to 400/404/409/503 (lib/http.ts).
 */
import { ConvexError } from "convex/values";

export type ErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "bad_request"
  | "not_found"
  | "conflict"
  | "replayed"
  | "misconfigured";

export type ErrorData = { code: ErrorCode; message: string };

export function fail(code: ErrorCode, message: string): never {
  throw new ConvexError<ErrorData>({ code, message });
}

export function badRequest(message: string): never {
  return fail("bad_request", message);
}

export function notFound(message: string): never {
  return fail("not_found", message);
}

/** The error data of a ConvexError thrown by this backend, or null. */
export function errorData(e: unknown): ErrorData | null {
  if (e instanceof ConvexError && typeof e.data === "object" && e.data !== null && typeof e.data.code === "string") {
    return { code: e.data.code, message: String(e.data.message ?? "") };
  }
  return null;
}

/**
 * Runs a paginate call. A cursor that is not one of ours (garbage, or from
 * another query) makes paginate throw a plain Error; that is the caller's
 * mistake, a 400 naming the field, not a 500 the sender retries forever.
 */
export async function paginated<T>(cursor: string | null | undefined, field: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (cursor != null && !(e instanceof ConvexError)) badRequest(`${field}: invalid cursor`);
    throw e;
  }
}
