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
    // limits) take seconds on a quiet machine, have taken 110 s beside
    // two CPU burners and over 600 s (337 s for the next heaviest) on a
    // shared 2-core machine at load 50; a test here must fail on its
    // assertions, not its pace.
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
