/**
 * Request signatures of the Go service.
 *
 * Header: `X-Llmmeter-Signature: t=<unix ms>,v1=<hex>` where hex is the
 * lowercase hex HMAC-SHA256(secret, signed string) and secret is the Convex
 * env var INGEST_SECRET (INGEST_SECRET_PREVIOUS, if set, is also accepted,
 * for rotation). Several v1 entries may be given; one must match.
 *
 * The signed string is defined once, in {@link requestString}:
 * `"v1\n<t>\n<METHOD>\n<path>\n<raw body>"`, path being the request URL's
 * pathname. It binds the route: bytes signed for POST /quotas/reserve do not
 * verify on /quotas/release. Alert webhooks sign `"webhook\n<t>\n<body>"`
 * (a different label), so a webhook signature never verifies here. The Go
 * signer is internal/signature; both are held to contract/signatures.json.
 * Outcomes:
 * - header missing → unauthorized; not of that form → malformed;
 * - |now − t| > 5 minutes → unauthorized (stale);
 * - no v1 matches → unauthorized.
 * Comparison is constant-time over the 32 MAC bytes.
 */
export const SIGNATURE_HEADER = "X-Llmmeter-Signature";
export const MAX_SKEW_MS = 5 * 60 * 1000;

export type SignatureCheck =
  | { ok: true }
  | { ok: false; kind: "missing" | "malformed" | "stale" | "mismatch"; message: string };

const encoder = new TextEncoder();

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

/** What a request signature covers besides its timestamp. */
export type SignedRequest = { method: string; path: string; body: string };

/** The one definition of the signed string of a request at t (unix ms). */
export function requestString(t: number, r: SignedRequest): string {
  return `v1\n${t}\n${r.method}\n${r.path}\n${r.body}`;
}

/** The header value for a request (used by tests and as the reference for the Go client). */
export async function sign(secret: string, r: SignedRequest, t: number): Promise<string> {
  return `t=${t},v1=${bytesToHex(await hmac(secret, requestString(t, r)))}`;
}

/** Verifies a signature header against the request's method, path and raw body. */
export async function verifySignature(
  header: string | null,
  request: SignedRequest,
  secrets: string[],
  now: number,
): Promise<SignatureCheck> {
  if (header === null || header.trim() === "") {
    return { ok: false, kind: "missing", message: `missing ${SIGNATURE_HEADER} header` };
  }
  let t: number | undefined;
  const macs: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return { ok: false, kind: "malformed", message: `malformed ${SIGNATURE_HEADER} header` };
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (k === "t") {
      if (!/^\d{1,16}$/.test(val) || t !== undefined) {
        return { ok: false, kind: "malformed", message: `malformed ${SIGNATURE_HEADER} header: t` };
      }
      t = Number(val);
    } else if (k === "v1") {
      if (!/^[0-9a-f]{64}$/.test(val)) {
        return { ok: false, kind: "malformed", message: `malformed ${SIGNATURE_HEADER} header: v1` };
      }
      macs.push(val);
    }
  }
  if (t === undefined || macs.length === 0) {
    return { ok: false, kind: "malformed", message: `malformed ${SIGNATURE_HEADER} header: needs t and v1` };
  }
  if (Math.abs(now - t) > MAX_SKEW_MS) {
    return { ok: false, kind: "stale", message: "signature timestamp outside the 5 minute window" };
  }
  let match = false;
  for (const secret of secrets) {
    const expected = await hmac(secret, requestString(t, request));
    for (const mac of macs) if (timingSafeEqual(expected, hexToBytes(mac))) match = true;
  }
  return match ? { ok: true } : { ok: false, kind: "mismatch", message: "signature does not match" };
}
