import { inject } from "vitest";

/** The service an admin call goes to: the suite's shared one unless a test starts its own. */
export type AdminTarget = { baseUrl: string; adminKey: string };

/**
 * Calls an admin function on the service's /api/query or /api/mutation
 * (Convex's HTTP API shape) with the admin key, as the portal does: the
 * expected values of the browser tests come from here. A function error
 * throws with its message.
 */
export async function adminCall<T>(
  kind: "query" | "mutation",
  path: string,
  args: Record<string, unknown> = {},
  target: AdminTarget = inject("e2e"),
): Promise<T> {
  const r = await fetch(`${target.baseUrl}/api/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${target.adminKey}` },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  const body = (await r.json()) as { status: string; value: T; errorMessage?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.errorMessage}`);
  return body.value;
}

export const adminQuery = <T>(path: string, args: Record<string, unknown> = {}, target?: AdminTarget) =>
  adminCall<T>("query", path, args, target);

export const adminMutation = <T>(path: string, args: Record<string, unknown> = {}, target?: AdminTarget) =>
  adminCall<T>("mutation", path, args, target);
