import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The portal's pages as a library (src/index.ts → dist-lib/): ES modules
// plus style.css, for an app's own React admin portal. React, Convex and
// recharts stay imports (the app's own copies: a Convex client must be the
// very module instance the app's ConvexProvider uses). Types: tsconfig.lib.json.
const externals = ["react", "react-dom", "convex", "recharts"];

export default defineConfig({
  plugins: [react()],
  resolve: { dedupe: ["convex", "react", "react-dom"] },
  build: {
    outDir: fileURLToPath(new URL("dist-lib", import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: fileURLToPath(new URL("src/index.ts", import.meta.url)),
      formats: ["es"],
      fileName: "index",
      cssFileName: "style",
    },
    rolldownOptions: {
      external: (id) => externals.some((e) => id === e || id.startsWith(`${e}/`)),
    },
  },
});
