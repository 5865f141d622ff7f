import { defineConfig } from "vitest/config";

// The browser tests: a real service (embedded engine, demo data) and
// Debian's Chromium driven by playwright-core. See e2e/README.md.
export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
