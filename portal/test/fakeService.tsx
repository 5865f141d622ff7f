import type { ReactNode } from "react";
import { APP_MODULE } from "../src/data/api";
import { httpDataClient, LlmmeterProvider } from "../src/index";

export type Handler = (args: Record<string, unknown>) => unknown;

/**
 * A fake of the Go service's /api/query and /api/mutation: answers from
 * per-function handlers in Convex's HTTP API format; a thrown
 * {code, message} becomes a 560 function error.
 */
export function fakeService(given: Record<string, Handler>) {
  // Every page asks llmmeter:settings for the reporting zone; UTC unless a test says otherwise.
  const handlers: Record<string, Handler> = { "llmmeter:settings": () => ({ reportingTz: "UTC" }), ...given };
  const calls: { kind: string; path: string; args: Record<string, unknown>; auth: string | null }[] = [];
  const state = { down: false };
  const fetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // What fetch does when nothing listens on the service's port.
    if (state.down) throw new TypeError("Failed to fetch");
    const kind = String(url).endsWith("/api/mutation") ? "mutation" : "query";
    const body = JSON.parse(String(init?.body)) as { path: string; args: Record<string, unknown>; format: string };
    const auth = new Headers(init?.headers).get("Authorization");
    calls.push({ kind, path: body.path, args: body.args, auth });
    const h = handlers[body.path];
    if (!h) return json(560, { status: "error", errorMessage: `no such function ${body.path}` });
    try {
      return json(200, { status: "success", value: await h(body.args), logLines: [] });
    } catch (e) {
      const d = e as { code: string; message: string };
      return json(560, { status: "error", errorMessage: d.message, errorData: { code: d.code, message: d.message }, logLines: [] });
    }
  };
  const data = httpDataClient({ module: APP_MODULE, getToken: () => "llm_test", fetch: fetch as typeof globalThis.fetch, refreshMs: 60_000 });
  const client = data.http;
  function Providers({ children }: { children: ReactNode }) {
    return <LlmmeterProvider client={data}>{children}</LlmmeterProvider>;
  }
  /** Makes the service unreachable (true) or back (false). */
  const setDown = (down: boolean) => {
    state.down = down;
  };
  return { calls, client, fetch, Providers, setDown };
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
