// Proves the Convex functions bundle as `npx convex deploy` bundles them,
// offline, and exits non-zero on any bundling error (e.g. a default-runtime
// file importing "node:fs"). Run from the repository root: npm run check:bundle.
//
// The CLI's bundler is not importable on its own (dist/esm/bundler pulls in
// dependencies that exist only inside cli.bundle.cjs), so this repeats what
// convex@1.48.0 does before a push, read from node_modules/convex/dist/esm:
//  - bundler/index.js entryPoints: every .js/.mjs/.cjs/.ts/.tsx/.mts/.cts/.jsx
//    file under convex/ except _generated/, dotfiles, #-files, schema.ts,
//    names with more than one dot (so *.test.ts, test.setup.ts) and paths
//    with a space; a file whose directives include "use node" runs on Node.js;
//  - cli/lib/config.js configFromProjectConfig: the default runtime's modules
//    on platform "browser", the Node.js ones on platform "node";
//  - bundler/debugBundle.js innerEsbuild: the esbuild options below, with
//    the async_hooks shim and serverOnly.js's server-only stub.
// esbuild is the version convex depends on (0.27.0 in package-lock.json).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import esbuild from "esbuild";

const dir = process.argv[2] ?? "convex";
const EXTENSIONS = [".js", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".jsx"];

function entryPoints(root) {
  const out = [];
  const walk = (d) => {
    if (d !== root && readdirSync(d).includes("convex.config.ts")) return; // a nested component
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(root, p);
      if (e.isDirectory()) {
        if (rel !== "_generated") walk(p);
        continue;
      }
      const base = e.name;
      if (!EXTENSIONS.some((x) => base.endsWith(x))) continue;
      if (base.startsWith(".") || base.startsWith("#") || base === "schema.ts" || base === "schema.js") continue;
      if ((base.match(/\./g) || []).length > 1 || rel.includes(" ")) continue;
      out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

const useNode = (f) => /^\s*(\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*["']use node["'];?/.test(readFileSync(f, "utf8"));

const asyncHooksShim = {
  name: "convex-async-hooks-shim",
  setup(build) {
    build.onResolve({ filter: /^(node:)?async_hooks$/ }, (args) => ({ path: args.path, namespace: "async-hooks-shim" }));
    build.onLoad({ filter: /.*/, namespace: "async-hooks-shim" }, () => ({
      contents: "export const AsyncLocalStorage = globalThis.AsyncLocalStorage; export const AsyncResource = globalThis.AsyncResource; export default { AsyncLocalStorage, AsyncResource };",
      loader: "js",
    }));
  },
};
const serverOnlyStub = {
  name: "convex-server-only",
  setup(build) {
    build.onResolve({ filter: /^server-only$/ }, (args) => ({ path: args.path, namespace: "server-only-stub" }));
    build.onLoad({ filter: /.*/, namespace: "server-only-stub" }, () => ({ contents: "", loader: "js" }));
  },
};

async function bundle(files, platform) {
  if (files.length === 0) return 0;
  const result = await esbuild.build({
    entryPoints: files,
    bundle: true,
    platform,
    format: "esm",
    target: "esnext",
    jsx: "automatic",
    outdir: "out",
    outbase: dir,
    conditions: ["convex", "module"],
    plugins: platform === "browser" ? [asyncHooksShim, serverOnlyStub] : [serverOnlyStub],
    write: false,
    splitting: true,
    chunkNames: platform === "node" ? "_deps/node/[hash]" : "_deps/[hash]",
    treeShaking: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    keepNames: true,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  return result.outputFiles.length;
}

const all = entryPoints(dir);
const node = all.filter(useNode);
const isolate = all.filter((f) => !node.includes(f));
try {
  const a = await bundle(isolate, "browser");
  const b = await bundle(node, "node");
  console.log(
    `bundle-check: ${isolate.length} entry points bundled for Convex's default runtime (${a} output files)` +
      (node.length ? `, ${node.length} for Node.js (${b})` : "") +
      `: ${isolate.map((f) => relative(dir, f)).join(" ")}`,
  );
} catch {
  console.error("bundle-check: the Convex functions do not bundle for deploy (errors above)");
  process.exit(1);
}
