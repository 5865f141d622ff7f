import { inject } from "vitest";

/**
 * Calls an admin function on the service's /api/query (Convex's HTTP API
 * shape) with the admin key, as the portal does: the expected values of the
 * browser tests come from here.
 */
export async function adminQuery<T>(path: string, args: Record<string, unknown> = {}): Promise<T> {
  const ctx = inject("e2e");
  const r = await fetch(`${ctx.baseUrl}/api/query`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${ctx.adminKey}` },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  const body = (await r.json()) as { status: string; value: T; errorMessage?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.errorMessage}`);
  return body.value;
}
