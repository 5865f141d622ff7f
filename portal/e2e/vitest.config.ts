import { defineConfig } from "vitest/config";

// The browser tests: a real service (embedded engine, demo data) and
// Debian's Chromium driven by playwright-core. See e2e/README.md.
export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/globalSetup.ts"],
    // A bound on hangs, above the sum of a test's own waits (pages load
    // within 60 s, polls give 60 s each): "job runs" (a page, two polls, a
    // reload) hit a 120 s bound at load 50 on a shared 2-core machine.
    testTimeout: 600_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
