import { defineConfig } from "vitest/config";

// convex-test's documented setup: the edge-runtime environment (Convex's
// default runtime) and convex-test inlined so it sees the same convex/ modules.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    // The Go fold core on 127.0.0.1 (vitest.global-setup.ts).
    globalSetup: ["./vitest.global-setup.ts"],
    include: ["convex/**/*.test.ts", "packages/convex/test/*.test.ts", "internal/convextest/backend/*.test.ts", "bundle-check.test.ts"],
    // Generous: the heaviest cases (1,000-row ingests under transaction
    // limits) take seconds on a quiet machine and have taken 110 s beside
    // two CPU burners; a test here must fail on its assertions, not its pace.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
