/**
 * Clerk as the identity provider of the admin portal.
 *
 * Env (set with `npx convex env set NAME value`, before deploying: this file
 * is read at deploy time):
 * - CLERK_JWT_ISSUER_DOMAIN — the Clerk Frontend API URL, e.g.
 *   https://verb-noun-00.clerk.accounts.dev.
 * - CLERK_AUDIENCE — the audience a token's `aud` must hold (Convex checks it
 *   against `applicationID`). Default `convex`, the audience of Clerk's
 *   "convex" JWT template. The Go service checks the same variable when it is
 *   set (it does not by default, since Clerk's plain session tokens carry no
 *   `aud`); set the same value on both to refuse tokens minted for another app.
 *
 * The admin role travels as a flat custom claim. In the Clerk dashboard
 * (Sessions → Customize session token, or the "convex" JWT template) add:
 *
 *     {"role": "{{user.public_metadata.role}}"}
 *
 * and set `public_metadata.role = "admin"` on admin users. Who is an admin is
 * decided by lib/auth.ts `isAdmin`, the same rule as the Go service's, with
 * the same settings ADMIN_ROLE_CLAIM and CLERK_ORG_ADMIN.
 */
import type { AuthConfig } from "convex/server";

/** The audience tokens must carry: CLERK_AUDIENCE, or "convex". */
export function audience(env: { CLERK_AUDIENCE?: string } = process.env): string {
  return env.CLERK_AUDIENCE?.trim() || "convex";
}

export default {
  providers: [
    {
      domain: process.env.CLERK_JWT_ISSUER_DOMAIN!,
      applicationID: audience(),
    },
  ],
} satisfies AuthConfig;
