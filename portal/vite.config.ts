/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

// The portal is served by the Go service at /admin/ (embedded mode); the
// function references come from ../convex/_generated/api, whose own
// `convex/server` import must resolve to this package's copy (dedupe), since
// the root node_modules may not be installed.
export default defineConfig({
  base: "/admin/",
  plugins: [react()],
  resolve: { dedupe: ["convex", "react", "react-dom"] },
  server: {
    host: "127.0.0.1",
    fs: { allow: [here, fileURLToPath(new URL("../convex/_generated", import.meta.url))] },
    // `npm run dev` against a local service: VITE_PROXY=http://127.0.0.1:8080
    proxy: process.env.VITE_PROXY ? { "/api": process.env.VITE_PROXY } : undefined,
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
    setupFiles: ["test/setup.ts"],
    restoreMocks: true,
    // Generous, so that a busy machine slows the suite without failing it.
    testTimeout: 120_000,
  },
});
