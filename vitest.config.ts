import { defineConfig } from "vitest/config";

// convex-test's documented setup: the edge-runtime environment (Convex's
// default runtime) and convex-test inlined so it sees the same convex/ modules.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    include: ["convex/**/*.test.ts", "internal/convextest/backend/*.test.ts", "bundle-check.test.ts"],
    testTimeout: 30_000,
  },
});
