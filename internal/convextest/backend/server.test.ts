// @vitest-environment node
/** Smoke test of the test harness: start it, one signed ingest, one /api/query, stop it. */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { sign } from "../../../packages/convex/src/lib/signature";

const here = dirname(fileURLToPath(import.meta.url));
const convexDir = join(here, "..", "..", "..", "convex");
const SECRET = "smoke-secret-0123456789abcdef0123";
let child: ChildProcess;
let base: string;

beforeAll(async () => {
  child = spawn(process.execPath, ["--import", "tsx", join(here, "server.ts"), "--port", "0"], {
    cwd: join(here, "..", "..", ".."),
    env: { ...process.env, INGEST_SECRET: SECRET, REPORTING_TZ: "UTC" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  base = await new Promise<string>((resolve, reject) => {
    // A bound on a hang: tsx compiles the functions before the server
    // listens, which took over 20 s (and over 60 s from Go) at load 50.
    const timer = setTimeout(() => reject(new Error(`no ready line in 5 min; stderr: ${stderr}`)), 300_000);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /testbackend listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
  });
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});

async function signedPost(path: string, body: unknown) {
  const raw = JSON.stringify(body);
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", "X-Llmmeter-Signature": await sign(SECRET, { method: "POST", path, body: raw }, Date.now()) },
    body: raw,
  });
  return { status: res.status, json: (await res.json()) as any };
}

const token = (claims: object) => `x.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.unsigned`;

async function apiCall(kind: string, path: string, args: object, claims?: object) {
  const res = await fetch(`${base}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(claims ? { authorization: `Bearer ${token(claims)}` } : {}) },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

test("signed ingest and an admin query through the harness", async () => {
  const u = await signedPost("/users/ensure", { externalId: "smoke" });
  expect(u.status).toBe(200);
  const ts = Date.UTC(2024, 0, 15, 13);
  const ingest = await signedPost("/ingest", {
    usage: [
      {
        generationId: "gen-smoke",
        requestId: "req-smoke",
        userId: u.json.userId,
        model: "openai/gpt-4o",
        promptTokens: 3,
        completionTokens: 4,
        totalTokens: 7,
        cachedTokens: 0,
        reasoningTokens: 0,
        costNanoUsd: 1234,
        costStatus: "reported",
        cancelled: false,
        timestamp: ts,
        processingTime: 10,
        isByok: false,
        stream: false,
      },
    ],
  });
  expect(ingest).toEqual({
    status: 200,
    json: {
      inserted: { usage: 1, requestLogs: 0, activity: 0 },
      duplicates: { usage: 0, requestLogs: 0, activity: 0 },
    },
  });
  // The fold, as the Go fold job does it through the signed routes: pending
  // rows, the Go core's deltas, the stored state of the keys they touch, the
  // Go core's summaries, the compare-and-set apply.
  const pending = await signedPost("/jobs/fold/pending", { limit: 300 });
  expect(pending.status).toBe(200);
  expect(pending.json.usage).toHaveLength(1);
  const core = async (path: string, body: unknown) =>
    await (await fetch(`${inject("foldUrl")}${path}`, { method: "POST", body: JSON.stringify(body) })).json();
  const deltas = await core("/compute?tz=UTC", pending.json);
  const state = await signedPost("/jobs/fold/state", await core("/keys", deltas));
  expect(state.status).toBe(200);
  const applyBody = await core("/summarize", { apply: deltas, state: state.json });
  const apply = await signedPost("/jobs/fold/apply", applyBody);
  expect(apply).toMatchObject({ status: 200, json: { folded: 1 } });
  const again = await signedPost("/jobs/fold/apply", applyBody);
  expect(again).toMatchObject({ status: 409, json: { error: { code: "conflict" } } });
  const q = await apiCall("query", "llmmeter:overview", { from: ts, to: ts + 3_600_000 }, { sub: "admin_1", role: "admin" });
  expect(q.status).toBe(200);
  expect(q.json.status).toBe("success");
  expect(q.json.value).toMatchObject({ totalTokens: 7, costNanoUsd: 1234, activeUsers: 1 });

  const anon = await apiCall("query", "llmmeter:overview", { from: ts, to: ts + 1 });
  expect(anon.status).toBe(560);
  expect(anon.json).toMatchObject({ status: "error", errorData: { code: "unauthenticated" } });
  const internal = await apiCall("mutation", "ingest:batch", {}, { sub: "admin_1", role: "admin" });
  expect(internal.json.status).toBe("error");
  const unsigned = await fetch(`${base}/ingest`, { method: "POST", body: "{}" });
  expect(unsigned.status).toBe(401);
  expect((await fetch(`${base}/_harness/reset`, { method: "POST" })).status).toBe(200);
  const after = await apiCall("query", "llmmeter:overview", { from: ts, to: ts + 3_600_000 }, { sub: "admin_1", role: "admin" });
  expect(after.json.value.requests).toBe(0);
});

test("the harness loads the same modules as the tests", async () => {
  const { functionFiles } = await import("./modules");
  const { modules } = await import("../../../convex/test.setup");
  const harness = functionFiles(convexDir)
    .map((f) => f.slice(convexDir.length + 1))
    .sort();
  const tests = Object.keys(modules)
    .map((k) => k.replace(/^\.\//, ""))
    .sort();
  expect(tests).toEqual(harness);
});
