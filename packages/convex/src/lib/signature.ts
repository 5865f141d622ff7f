/**
 * Request signatures of the Go service.
 *
 * Header: `X-Llmmeter-Signature: t=<unix ms>,n=<nonce>,v2=<hex>` where hex
 * is the lowercase hex HMAC-SHA256(secret, signed string), nonce 32
 * lowercase hex digits (128 random bits, new for every request and every
 * retry) and secret the Convex env var INGEST_SECRET (INGEST_SECRET_PREVIOUS,
 * if set, is also accepted, for rotation; each at least
 * {@link MIN_SECRET_BYTES} bytes, checked by lib/http.ts). Several v2
 * entries may be given; one must match.
 *
 * The signed string is defined once, in {@link requestString}:
 * `"v2\n<t>\n<nonce>\n<METHOD>\n<path>\n<raw body>"`, path being the
 * request URL's pathname. It binds the route (bytes signed for POST
 * /quotas/reserve do not verify on /quotas/release) and the nonce, which
 * the routes that change state accept once (lib/nonces.ts): the same
 * signed request sent again within the timestamp window is a replay. Alert webhooks sign
 * `"webhook\n<t>\n<body>"` (a different label), so a webhook signature never
 * verifies here. The Go signer is internal/signature; both are held to
 * contract/signatures.json.
 * Outcomes:
 * - header missing → unauthorized; not of that form → malformed;
 * - only v1 entries (the retired form without a nonce) → unauthorized (legacy);
 * - |now − t| > 5 minutes → unauthorized (stale);
 * - no v2 matches → unauthorized.
 * Comparison is constant-time over the 32 MAC bytes.
 */
export const SIGNATURE_HEADER = "X-Llmmeter-Signature";
export const MAX_SKEW_MS = 5 * 60 * 1000;
/** The shortest secret accepted (signature.MinSecretBytes in Go): a shorter HMAC key is guessable. */
export const MIN_SECRET_BYTES = 32;

export type SignatureCheck =
  | { ok: true; t: number; nonce: string }
  | { ok: false; kind: "missing" | "malformed" | "legacy" | "stale" | "mismatch"; message: string };

const encoder = new TextEncoder();
const HEX64 = /^[0-9a-f]{64}$/;
const NONCE = /^[0-9a-f]{32}$/;

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Constant-time equality of two byte arrays of equal length. */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** What a request signature covers besides its timestamp and nonce. */
export type SignedRequest = { method: string; path: string; body: string };

/** The one definition of the signed string of a request at t (unix ms) with nonce. */
export function requestString(t: number, nonce: string, r: SignedRequest): string {
  return `v2\n${t}\n${nonce}\n${r.method}\n${r.path}\n${r.body}`;
}

/** A fresh nonce: 32 lowercase hex digits (signature.NewNonce in Go). */
export function newNonce(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** The header value for a request (used by tests and as the reference for the Go client); a fresh nonce unless given. */
export async function sign(secret: string, r: SignedRequest, t: number, nonce: string = newNonce()): Promise<string> {
  return `t=${t},n=${nonce},v2=${bytesToHex(await hmac(secret, requestString(t, nonce, r)))}`;
}

/**
 * Verifies a signature header against the request's method, path and raw
 * body. It does not know which nonces were used: the caller records the
 * returned nonce (lib/nonces.ts) before the request takes effect.
 */
export async function verifySignature(
  header: string | null,
  request: SignedRequest,
  secrets: string[],
  now: number,
): Promise<SignatureCheck> {
  if (header === null || header.trim() === "") {
    return { ok: false, kind: "missing", message: `missing ${SIGNATURE_HEADER} header` };
  }
  const malformed = (what: string): SignatureCheck => ({
    ok: false,
    kind: "malformed",
    message: `malformed ${SIGNATURE_HEADER} header: ${what}`,
  });
  let t: number | undefined;
  let nonce: string | undefined;
  const macs: string[] = [];
  let v1 = false;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return malformed("expected key=value pairs");
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (k === "t") {
      if (!/^\d{1,16}$/.test(val) || t !== undefined) return malformed("t");
      t = Number(val);
    } else if (k === "n") {
      if (!NONCE.test(val) || nonce !== undefined) return malformed("n (32 lowercase hex digits, once)");
      nonce = val;
    } else if (k === "v2" || k === "v1") {
      if (!HEX64.test(val)) return malformed(k);
      if (k === "v2") macs.push(val);
      else v1 = true;
    }
  }
  if (macs.length === 0 && v1) {
    return {
      ok: false,
      kind: "legacy",
      message: "v1 signatures (without a nonce) are no longer accepted: sign v2 (t, n, v2); upgrade the llmmeter service",
    };
  }
  if (t === undefined || nonce === undefined || macs.length === 0) return malformed("needs t, n and v2");
  if (Math.abs(now - t) > MAX_SKEW_MS) {
    return { ok: false, kind: "stale", message: "signature timestamp outside the 5 minute window" };
  }
  let match = false;
  for (const secret of secrets) {
    const expected = await hmac(secret, requestString(t, nonce, request));
    for (const mac of macs) if (timingSafeEqual(expected, hexToBytes(mac))) match = true;
  }
  return match ? { ok: true, t, nonce } : { ok: false, kind: "mismatch", message: "signature does not match" };
}
