/**
 * The envelope of every signed HTTP action: configuration check, body size,
 * signature, JSON, payload shape, then the handler (a mutation route's
 * function records the nonce); errors become JSON in OpenAI's error shape
 * `{"error": {"code", "message", "type"}}`.
 *
 * | status | code           | when                                                    |
 * | 503    | misconfigured  | INGEST_SECRET (or INGEST_SECRET_PREVIOUS) unset or under 32 bytes, or REPORTING_TZ invalid |
 * | 413    | payload_too_large | body over MAX_BODY_BYTES                              |
 * | 401    | unauthorized   | signature header missing, v1 (no nonce), stale or not matching (the MAC covers nonce, method, path and body) |
 * | 400    | bad_request    | malformed header, non-JSON body, invalid payload (named) |
 * | 409    | replayed       | the signature's nonce was already accepted (mutation routes) |
 * | 404    | not_found      | a referenced document does not exist                     |
 * | 409    | conflict       | unique key taken                                         |
 * | 500    | internal       | anything unexpected (logged)                             |
 * Nothing is written on any 4xx/5xx: validation precedes the route's
 * internal function, and a mutation claims the request's nonce in its own
 * transaction, so a refusal rolls the claim back too (mutationRoute).
 */
import type { FunctionReference } from "convex/server";
import type { GenericValidator, Infer } from "convex/values";
import { httpAction, type ActionCtx } from "../server";
import { envVar } from "./env";
import { errorData, type ErrorCode } from "./errors";
import type { SignatureClaim } from "./nonces";
import { reportingTimeZone } from "./periods";
import { check, ShapeError } from "./shape";
import { MAX_SKEW_MS, MIN_SECRET_BYTES, SIGNATURE_HEADER, verifySignature } from "./signature";
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
  replayed: 409,
  misconfigured: 503,
};

/**
 * The secrets accepted for signatures (current first), or why there are
 * none usable: a secret under MIN_SECRET_BYTES is refused (never named).
 */
export function ingestSecrets(): { secrets: string[] } | { misconfigured: string } {
  const secrets: string[] = [];
  for (const name of ["INGEST_SECRET", "INGEST_SECRET_PREVIOUS"]) {
    const value = envVar(name);
    if (!value) {
      if (name === "INGEST_SECRET") return { misconfigured: "INGEST_SECRET is not set" };
      continue;
    }
    if (new TextEncoder().encode(value).length < MIN_SECRET_BYTES) {
      return { misconfigured: `${name} is shorter than ${MIN_SECRET_BYTES} bytes; set a longer secret in the deployment's environment` };
    }
    secrets.push(value);
  }
  return { secrets };
}

/**
 * A signed route on an internal mutation built with signedMutation
 * (lib/nonces.ts), which claims the request's nonce in its own transaction:
 * a replay is refused (409) and changes nothing, and so does a request the
 * mutation refuses. precheck may refuse the body first (badRequest).
 */
export function mutationRoute<V extends GenericValidator>(
  shape: V,
  fn: FunctionReference<"mutation", "internal", Infer<V> & { signature?: SignatureClaim }>,
  precheck?: (body: Infer<V>) => void,
) {
  return signedRoute(shape, async (ctx, body, signature) => {
    precheck?.(body);
    return await ctx.runMutation(fn, { ...body, signature });
  });
}

/** A signed route on an internal query; its nonce is not recorded (a replayed read changes nothing). */
export function queryRoute<V extends GenericValidator>(shape: V, fn: FunctionReference<"query", "internal", Infer<V>>) {
  return signedRoute(shape, (ctx, body) => ctx.runQuery(fn, body));
}

/**
 * The envelope: a signed POST route whose JSON body must match `shape`;
 * handler gets the body and the claim of the verified signature's nonce,
 * kept until its timestamp is stale (after that the signature is refused anyway).
 */
function signedRoute<V extends GenericValidator>(
  shape: V,
  handler: (ctx: ActionCtx, body: Infer<V>, signature: SignatureClaim) => Promise<unknown>,
) {
  return httpAction(async (ctx, request) => {
    const config = ingestSecrets();
    if ("misconfigured" in config) return errorResponse(503, "misconfigured", config.misconfigured);
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
    const sig = await verifySignature(request.headers.get(SIGNATURE_HEADER), signed, config.secrets, Date.now());
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
      return jsonResponse(200, await handler(ctx, body, { nonce: sig.nonce, expiresAt: sig.t + MAX_SKEW_MS }));
    } catch (e) {
      const data = errorData(e);
      if (data) return errorResponse(STATUS[data.code] ?? 500, data.code, data.message);
      console.error("http action failed", request.url, e);
      return errorResponse(500, "internal", "internal error");
    }
  });
}
