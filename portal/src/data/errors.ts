/**
 * One error type for both clients. `code` is the admin functions' error
 * code (unauthenticated, forbidden, bad_request, not_found) or a transport
 * code (network, http_<status>, bad_response, function_error).
 */
export class AdminError extends Error {
  readonly code: string;
  readonly status?: number;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = "AdminError";
    this.code = code;
    this.status = status;
  }

  /** True when signing in again (or with another account) is the fix. */
  get isAuth(): boolean {
    return this.code === "unauthenticated" || this.code === "forbidden";
  }

  /**
   * True when the service did not answer (no connection, or a gateway in
   * front of it said it is down): one outage banner speaks for every such
   * error, so pages do not repeat it per query.
   */
  get isOutage(): boolean {
    return this.code === "network" || isOutageStatus(this.status);
  }
}

/** Turns anything thrown by a client (ConvexError included) into an AdminError. */
export function toAdminError(e: unknown): AdminError {
  if (e instanceof AdminError) return e;
  if (e && typeof e === "object" && "data" in e) {
    const data = (e as { data: unknown }).data;
    if (data && typeof data === "object" && "code" in data) {
      const d = data as { code: unknown; message?: unknown };
      return new AdminError(String(d.code), typeof d.message === "string" ? d.message : String(d.code));
    }
    if (typeof data === "string") return new AdminError("function_error", data);
  }
  if (e instanceof Error) return new AdminError("function_error", e.message);
  return new AdminError("function_error", String(e));
}

/** Statuses a gateway in front of the service answers with while it is down. */
export function isOutageStatus(status: number | undefined): boolean {
  return status === 502 || status === 503 || status === 504;
}
