/**
 * Clerk as the identity provider of the admin portal.
 *
 * Env: CLERK_JWT_ISSUER_DOMAIN — the Clerk Frontend API URL, e.g.
 * https://verb-noun-00.clerk.accounts.dev (set it with
 * `npx convex env set CLERK_JWT_ISSUER_DOMAIN ...`).
 *
 * The admin role travels as a flat custom claim. In the Clerk dashboard
 * (Sessions → Customize session token, or the "convex" JWT template) add:
 *
 *     {"role": "{{user.public_metadata.role}}"}
 *
 * and set `public_metadata.role = "admin"` on admin users. Convex then exposes
 * it as `identity.role`; lib/auth.ts requires `role === "admin"` for every
 * admin:* function.
 */
import type { AuthConfig } from "convex/server";

export default {
  providers: [
    {
      domain: process.env.CLERK_JWT_ISSUER_DOMAIN!,
      applicationID: "convex",
    },
  ],
} satisfies AuthConfig;
