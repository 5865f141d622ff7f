import { describe, expect, it } from "vitest";
import { AdminHttpClient } from "../src/data/httpClient";
import { AdminError } from "../src/data/errors";
import { json } from "./fakeService";

function client(res: () => Response | Promise<Response>, seen: { url?: string; init?: RequestInit } = {}) {
  return new AdminHttpClient({
    getToken: () => "llm_secret",
    fetch: (async (url: RequestInfo | URL, init?: RequestInit) => {
      seen.url = String(url);
      seen.init = init;
      return res();
    }) as typeof fetch,
  });
}

describe("AdminHttpClient", () => {
  it("sends Convex's HTTP API body with the key as a bearer token", async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const c = client(() => json(200, { status: "success", value: { requests: 3 } }), seen);
    await expect(c.query("llmmeter:overview", { from: 1, to: 2 })).resolves.toEqual({ requests: 3 });
    expect(seen.url).toBe("/api/query");
    expect(seen.init?.method).toBe("POST");
    expect(JSON.parse(String(seen.init?.body))).toEqual({ path: "llmmeter:overview", args: { from: 1, to: 2 }, format: "json" });
    expect(new Headers(seen.init?.headers).get("Authorization")).toBe("Bearer llm_secret");
  });

  it("posts mutations to /api/mutation and tells listeners", async () => {
    const seen: { url?: string } = {};
    const c = client(() => json(200, { status: "success", value: { ok: true } }), seen);
    let told = 0;
    c.onInvalidate(() => told++);
    await c.mutation("llmmeter:markAlertRead", { alertId: "a1" });
    expect(seen.url).toBe("/api/mutation");
    expect(told).toBe(1);
  });

  it.each([
    // A ConvexError: HTTP 560 with errorData.
    [560, { status: "error", errorMessage: "x", errorData: { code: "bad_request", message: "from: bad" } }, "bad_request", "from: bad"],
    // A function error without data, answered with 200.
    [200, { status: "error", errorMessage: "Server Error" }, "function_error", "Server Error"],
    // The service's own auth, in OpenAI's error shape.
    [401, { error: { message: "Invalid or revoked credential.", type: "authentication_error" } }, "unauthenticated", "Invalid or revoked credential."],
    [403, { error: { message: "This credential may not do that." } }, "forbidden", "This credential may not do that."],
    [502, {}, "http_502", "HTTP 502"],
  ])("HTTP %i → %s", async (status, body, code, message) => {
    const c = client(() => json(status, body));
    const err = await c.query("llmmeter:overview", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).code).toBe(code);
    expect((err as AdminError).message).toBe(message);
  });

  it("reports network failures and non-JSON answers", async () => {
    const down = client(() => Promise.reject(new TypeError("fetch failed")));
    await expect(down.query("llmmeter:overview", {})).rejects.toMatchObject({ code: "network" });
    const html = client(() => new Response("<html>", { status: 200 }));
    await expect(html.query("llmmeter:overview", {})).rejects.toMatchObject({ code: "bad_response" });
  });
});
