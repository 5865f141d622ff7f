/**
 * The envelope of every signed HTTP action: configuration check, body size,
 * signature, JSON, payload shape, then the handler; errors become JSON in
 * OpenAI's error shape `{"error": {"code", "message", "type"}}`.
 *
 * | status | code           | when                                                    |
 * | 503    | misconfigured  | INGEST_SECRET unset or REPORTING_TZ invalid               |
 * | 413    | payload_too_large | body over MAX_BODY_BYTES                              |
 * | 401    | unauthorized   | signature header missing, stale or not matching (the MAC covers method, path and body) |
 * | 400    | bad_request    | malformed header, non-JSON body, invalid payload (named) |
 * | 404    | not_found      | a referenced document does not exist                     |
 * | 409    | conflict       | unique key taken                                         |
 * | 500    | internal       | anything unexpected (logged)                             |
 * Nothing is written on any 4xx/5xx: validation precedes the single internal
 * mutation, which is one transaction.
 */
import type { GenericValidator, Infer } from "convex/values";
import { httpAction, type ActionCtx } from "../server";
import { envVar } from "./env";
import { errorData, type ErrorCode } from "./errors";
import { reportingTimeZone } from "./periods";
import { check, ShapeError } from "./shape";
import { SIGNATURE_HEADER, verifySignature } from "./signature";
import { MAX_BODY_BYTES } from "./wire";

const TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  409: "conflict_error",
  413: "invalid_request_error",
  500: "server_error",
  503: "server_error",
};

export function jsonResponse(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

export function errorResponse(status: number, code: string, message: string): Response {
  return jsonResponse(status, { error: { code, message, type: TYPES[status] ?? "server_error" } });
}

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  misconfigured: 503,
};

/** The secrets accepted for signatures (current first), or [] if unset. */
export function ingestSecrets(): string[] {
  const current = envVar("INGEST_SECRET");
  if (!current) return [];
  const previous = envVar("INGEST_SECRET_PREVIOUS");
  return previous ? [current, previous] : [current];
}

/** A signed POST route whose JSON body must match `shape`. */
export function signedRoute<V extends GenericValidator>(
  shape: V,
  handler: (ctx: ActionCtx, body: Infer<V>) => Promise<unknown>,
) {
  return httpAction(async (ctx, request) => {
    const secrets = ingestSecrets();
    if (secrets.length === 0) return errorResponse(503, "misconfigured", "INGEST_SECRET is not set");
    if (reportingTimeZone() === null) {
      return errorResponse(503, "misconfigured", "REPORTING_TZ is not a valid IANA time zone");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > MAX_BODY_BYTES) return errorResponse(413, "payload_too_large", `body over ${MAX_BODY_BYTES} bytes`);
    const raw = await request.text();
    if (new TextEncoder().encode(raw).length > MAX_BODY_BYTES) {
      return errorResponse(413, "payload_too_large", `body over ${MAX_BODY_BYTES} bytes`);
    }
    const signed = { method: request.method, path: new URL(request.url).pathname, body: raw };
    const sig = await verifySignature(request.headers.get(SIGNATURE_HEADER), signed, secrets, Date.now());
    if (!sig.ok) {
      return sig.kind === "malformed"
        ? errorResponse(400, "bad_request", sig.message)
        : errorResponse(401, "unauthorized", sig.message);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return errorResponse(400, "bad_request", "body: not valid JSON");
    }
    let body: Infer<V>;
    try {
      body = check(shape, json);
    } catch (e) {
      if (e instanceof ShapeError) {
        return errorResponse(400, "bad_request", e.path ? e.message : `body: ${e.detail}`);
      }
      throw e;
    }
    try {
      return jsonResponse(200, await handler(ctx, body));
    } catch (e) {
      const data = errorData(e);
      if (data) return errorResponse(STATUS[data.code] ?? 500, data.code, data.message);
      console.error("http action failed", request.url, e);
      return errorResponse(500, "internal", "internal error");
    }
  });
}
