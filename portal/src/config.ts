/**
 * Convex mode when VITE_CONVEX_URL is set at build time (Clerk sign-in,
 * reactive queries); otherwise embedded mode (the Go service's HTTP API,
 * admin API key sign-in).
 */
export const convexUrl: string | undefined = import.meta.env.VITE_CONVEX_URL || undefined;
export const clerkPublishableKey: string | undefined = import.meta.env.VITE_CLERK_PUBLISHABLE_KEY || undefined;
