/**
 * testbackend — a TEST HARNESS, not a Convex deployment.
 *
 * Loads the repository's real Convex functions (convex/: schema, http.ts, admin, …) into
 * convex-test (an in-memory mock of the Convex backend, transaction limits
 * on) and serves on 127.0.0.1:
 *   - the HTTP action routes of http.ts, same paths (POST /ingest, /jobs/…),
 *     through convex-test's t.fetch — signatures are checked as in production;
 *   - POST /api/query, /api/mutation, /api/action in Convex's HTTP API format:
 *     {"path": "llmmeter:overview", "args": {...}, "format": "json"} →
 *     200 {"status":"success","value":...,"logLines":[]} or
 *     560 {"status":"error","errorMessage":...,"errorData":...,"logLines":[]}.
 *     Only public functions of the matching kind are callable, as in Convex.
 *     (format "convex_encoded_json" with args as a one-element array, as
 *     ConvexHttpClient sends, is accepted too.)
 *   - POST /_harness/reset — drop all data (a fresh in-memory backend).
 *   - POST /_harness/env {"NAME": "value", …} — set deployment environment
 *     variables (what `npx convex env set` does), read by functions per call.
 *   - POST /_harness/clock {"now": <ms> | null} — pin the clock the functions
 *     and convex-test see (Date.now), as vitest's fake timers do in
 *     convex/*.test.ts; null (and every reset) returns to the real clock.
 *
 * Identity: `Authorization: Bearer <token>` where the token is a JWT-shaped
 * string whose payload segment (or the whole token) is base64url JSON claims,
 * e.g. {"sub":"user_1","iss":"https://clerk.test","role":"admin"}.
 * THE TOKEN IS NOT VERIFIED — no signature, issuer or expiry check. sub/iss
 * become subject/issuer, other claims are passed as custom claims.
 *
 * Env: INGEST_SECRET and REPORTING_TZ (as on a deployment), read per request.
 * Usage, from the repository root: npm run testbackend -- --port 3210   (port 0 = any free port)
 * Prints "testbackend listening on http://127.0.0.1:<port>" when ready.
 * Requests are served one at a time (convex-test is single-threaded anyway).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { ConvexError, convexToJson, jsonToConvex, type Value } from "convex/values";
import { functionFiles } from "./modules";

const MAX_BODY = 8 * 1024 * 1024;

type Kind = "query" | "mutation" | "action";

function parseArgs(argv: string[]): { port: number; host: string; functions: string } {
  let port = Number(process.env.PORT ?? 0);
  let host = "127.0.0.1";
  // The repository's own app by default; --functions examples/chat-app/convex
  // serves another app's functions (relative to the working directory).
  let functions = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "convex");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--port") port = Number(argv[++i]);
    else if (argv[i].startsWith("--port=")) port = Number(argv[i].slice(7));
    else if (argv[i] === "--host") host = argv[++i];
    else if (argv[i] === "--functions") functions = resolve(argv[++i]);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port`);
  return { port, host, functions };
}

const { port, host, functions: convexDir } = parseArgs(process.argv.slice(2));

/** Module map in the shape convex-test expects from import.meta.glob. */
const modules: Record<string, () => Promise<any>> = Object.fromEntries(
  functionFiles(convexDir).map((f) => [f, () => import(pathToFileURL(f).href)]),
);
const schema = (await import(pathToFileURL(join(convexDir, "schema.ts")).href)).default;

const newBackend = () => convexTest({ schema, modules, transactionLimits: true });

// The clock of /_harness/clock: convex-test pins each transaction's Date
// from Date.now, so replacing it moves every function's clock.
const realNow = Date.now.bind(Date);
let pinnedNow: number | null = null;
Date.now = () => pinnedNow ?? realNow();
let t = newBackend();

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    // A client killed while its request waited in the queue: its "close"
    // (or "error") may have fired before these listeners, and "end" never
    // comes. Without this the queue waits forever (seen with kill -9 in the
    // fault matrix, internal/faults).
    req.on("close", () => reject(new Error("client went away")));
    if (req.destroyed && !req.readableEnded) reject(new Error("client went away"));
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Claims from an unverified bearer token (see the module comment). */
function identityFrom(header: string | undefined): Record<string, unknown> | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/.exec(header);
  if (!m) throw new Error("Authorization must be 'Bearer <token>'");
  const parts = m[1].split(".");
  const payload = parts.length === 3 ? parts[1] : parts[0];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new Error("token payload must be a JSON object");
  const { sub, iss, exp: _exp, iat: _iat, nbf: _nbf, jti: _jti, aud: _aud, ...custom } = claims;
  const identity: Record<string, unknown> = { ...custom };
  if (typeof sub === "string") identity.subject = sub;
  if (typeof iss === "string") identity.issuer = iss;
  if (typeof sub === "string" && typeof iss === "string") identity.tokenIdentifier = `${iss}|${sub}`;
  return identity;
}

/** The registered function at "module:name", if it is public and of this kind. */
async function resolvePublic(path: string, kind: Kind): Promise<string> {
  const [modulePath, name = "default"] = path.replace(/\.js(?=:|$)/, "").split(":");
  const file = Object.keys(modules).find((k) => k === join(convexDir, `${modulePath}.ts`) || k === join(convexDir, `${modulePath}.js`));
  const fn = file ? (await modules[file]())[name] : undefined;
  const ok =
    fn &&
    fn.isPublic === true &&
    ((kind === "query" && fn.isQuery) || (kind === "mutation" && fn.isMutation) || (kind === "action" && fn.isAction));
  if (!ok) throw new Error(`Could not find public ${kind} function '${path}'`);
  return `${modulePath}:${name}`;
}

async function callFunction(kind: Kind, req: IncomingMessage, res: ServerResponse) {
  let identity: Record<string, unknown> | null;
  let body: any;
  try {
    identity = identityFrom(req.headers.authorization);
    body = JSON.parse((await readBody(req)).toString("utf8"));
  } catch (e) {
    return send(res, 400, { code: "BadRequest", message: (e as Error).message });
  }
  const logLines: string[] = [];
  try {
    if (typeof body?.path !== "string") throw new Error("path: expected string");
    const format = body.format ?? "json";
    const rawArgs = format === "convex_encoded_json" && Array.isArray(body.args) ? body.args[0] : body.args;
    const args = jsonToConvex(rawArgs ?? {}) as Record<string, Value>;
    const path = await resolvePublic(body.path, kind);
    const ref = makeFunctionReference<any>(path) as any;
    const target = identity ? t.withIdentity(identity as any) : t;
    const value =
      kind === "query" ? await target.query(ref, args) : kind === "mutation" ? await target.mutation(ref, args) : await target.action(ref, args);
    send(res, 200, { status: "success", value: convexToJson(value as Value), logLines });
  } catch (e) {
    const err = e as Error;
    const out: Record<string, unknown> = { status: "error", errorMessage: err.message, logLines };
    if (e instanceof ConvexError) out.errorData = convexToJson(e.data as Value);
    send(res, 560, out);
  }
}

async function forwardHttpAction(req: IncomingMessage, res: ServerResponse) {
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await readBody(req);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === "string") headers.set(k, v);
    else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
  }
  const response = await t.fetch(req.url ?? "/", { method: req.method, headers, body: body ? new Uint8Array(body) : undefined });
  const buf = Buffer.from(await response.arrayBuffer());
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  out["content-length"] = String(buf.length);
  res.writeHead(response.status, out);
  res.end(buf);
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "POST" && path === "/api/query") return callFunction("query", req, res);
  if (req.method === "POST" && path === "/api/mutation") return callFunction("mutation", req, res);
  if (req.method === "POST" && path === "/api/action") return callFunction("action", req, res);
  if (req.method === "POST" && path === "/_harness/env") {
    // `npx convex env set` for the harness: functions read process.env per call.
    const vars = JSON.parse((await readBody(req)).toString("utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(vars)) {
      if (typeof v !== "string") return send(res, 400, { code: "BadRequest", message: `${k}: expected a string` });
    }
    Object.assign(process.env, vars);
    return send(res, 200, { ok: true });
  }
  if (req.method === "POST" && path === "/_harness/clock") {
    const { now } = JSON.parse((await readBody(req)).toString("utf8")) as { now?: unknown };
    if (now !== null && !Number.isSafeInteger(now)) return send(res, 400, { code: "BadRequest", message: "now: expected ms or null" });
    pinnedNow = now as number | null;
    return send(res, 200, { ok: true });
  }
  if (req.method === "POST" && path === "/_harness/reset") {
    pinnedNow = null;
    t = newBackend();
    return send(res, 200, { ok: true });
  }
  return forwardHttpAction(req, res);
}

function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return handle(req, res).catch((e) => {
    console.error("testbackend: request failed", e);
    if (!res.headersSent) send(res, 500, { code: "InternalServerError", message: String(e) });
    else res.end();
  });
}

// One request at a time, except public actions: as on Convex they run beside
// other functions (convex-test serialises the transactions they start), so a
// chat action can call a gateway that in turn calls this backend's routes.
let queue: Promise<void> = Promise.resolve();
const server = createServer((req, res) => {
  if (req.method === "POST" && (req.url ?? "").split("?")[0] === "/api/action") {
    void serve(req, res);
    return;
  }
  queue = queue.then(() => serve(req, res));
});

if (!process.env.INGEST_SECRET) console.error("testbackend: INGEST_SECRET is not set; HTTP action routes will answer 503");
server.listen(port, host, () => {
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  console.log(`testbackend listening on http://${host}:${actual}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
