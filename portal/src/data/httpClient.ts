import { AdminError, isOutageStatus } from "./errors";
import { DEFAULT_MODULE } from "./functionPath";

export type FunctionKind = "query" | "mutation";

export interface HttpClientOptions {
  /** Module of the admin functions' paths, default "llmmeter" (see functionPath.ts). */
  module?: string;
  /** Origin and prefix of the service; "" for the page's own origin. */
  baseUrl?: string;
  /** The admin API key, read on every call (it may change). */
  getToken: () => string | null;
  fetch?: typeof fetch;
}

/**
 * Calls admin functions through the Go service's Convex-compatible HTTP API:
 * POST /api/query and /api/mutation with {path, args, format: "json"}.
 * `{"status":"success","value"}` resolves; `{"status":"error"}` (HTTP 200 or
 * 560) rejects with the function's ConvexError code; other HTTP failures
 * (401/403 from the service's own auth, 5xx) reject with a transport code.
 */
export class AdminHttpClient {
  private readonly base: string;
  private readonly getToken: () => string | null;
  private readonly fetchFn: typeof fetch;
  private readonly listeners = new Set<() => void>();
  private readonly statusListeners = new Set<() => void>();
  private unreachable = false;
  readonly module: string;

  constructor(opts: HttpClientOptions) {
    this.module = opts.module ?? DEFAULT_MODULE;
    this.base = (opts.baseUrl ?? "").replace(/\/$/, "");
    this.getToken = opts.getToken;
    this.fetchFn = opts.fetch ?? ((...a) => globalThis.fetch(...a));
  }

  query(path: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    return this.call("query", path, args, signal);
  }

  async mutation(path: string, args: Record<string, unknown>): Promise<unknown> {
    const value = await this.call("mutation", path, args);
    this.invalidate();
    return value;
  }

  /** Subscribes to "data may have changed" (after every mutation). */
  onInvalidate(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  invalidate(): void {
    for (const fn of [...this.listeners]) fn();
  }

  /** True since the last call that got no answer from the service, until one does. */
  isUnreachable(): boolean {
    return this.unreachable;
  }

  /** Subscribes to changes of isUnreachable (for useSyncExternalStore). */
  onStatus(fn: () => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private setUnreachable(v: boolean) {
    if (this.unreachable === v) return;
    this.unreachable = v;
    for (const fn of [...this.statusListeners]) fn();
  }

  /**
   * Starts a streamed export, POST /api/export/<name> {args}: resolves with
   * the 200 response, whose body is the file; rejects with the service's
   * refusal (400 bad filters, 401, 403) as an AdminError.
   */
  async export(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}/api/export/${name}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ args }),
        signal,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new AdminError("network", "The service could not be reached.");
    }
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => undefined);
    const code = isObject(body) && typeof body.code === "string" ? body.code : `http_${res.status}`;
    const message = isObject(body) && typeof body.message === "string" ? body.message : `HTTP ${res.status}`;
    throw new AdminError(code, message, res.status);
  }

  async call(kind: FunctionKind, path: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}/api/${kind}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ path, args, format: "json" }),
        signal,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      this.setUnreachable(true);
      throw new AdminError("network", "The service could not be reached.");
    }
    this.setUnreachable(isOutageStatus(res.status));
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (isObject(body) && body.status === "success" && "value" in body) return body.value;
    if (isObject(body) && body.status === "error") {
      const data = isObject(body.errorData) ? body.errorData : undefined;
      const code = data && typeof data.code === "string" ? data.code : "function_error";
      const message =
        data && typeof data.message === "string"
          ? data.message
          : typeof body.errorMessage === "string"
            ? body.errorMessage
            : "The function failed.";
      throw new AdminError(code, message, res.status);
    }
    // The service's own errors use OpenAI's shape: {"error": {message, type, code}}.
    const err = isObject(body) && isObject(body.error) ? body.error : undefined;
    const message = err && typeof err.message === "string" ? err.message : `HTTP ${res.status}`;
    if (res.status === 401) throw new AdminError("unauthenticated", message, 401);
    if (res.status === 403) throw new AdminError("forbidden", message, 403);
    if (!res.ok) throw new AdminError(`http_${res.status}`, message, res.status);
    throw new AdminError("bad_response", "The service answered in an unexpected format.", res.status);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
