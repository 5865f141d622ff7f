/**
 * The Convex function sources of this package, by the rule the Convex bundler
 * itself applies (JS/TS files, no dotfiles, a single dot in the name, not
 * schema's special case) restricted to the top level and lib/ — tests/,
 * testbackend/, tools/ and node_modules/ are not functions. Shared by
 * tools/convex.ts and the test backend; tests/helpers.ts uses the equivalent
 * import.meta.glob.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const FUNCTION_DIRS = ["lib"];

function isSource(name: string): boolean {
  return /^[^.#][^.]*\.(ts|js)$/.test(name);
}

/** Config files the CLI reads beside the functions (staged for codegen/deploy, not modules). */
const CONFIG_FILES = ["auth.config.ts", "convex.config.ts"];

export function functionFiles(root: string, opts: { includeGenerated: boolean; includeConfig?: boolean }): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (!statSync(p).isFile()) continue;
    if (isSource(name) || (opts.includeConfig && CONFIG_FILES.includes(name))) out.push(p);
  }
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (isSource(name)) out.push(p);
    }
  };
  for (const d of FUNCTION_DIRS) walk(join(root, d));
  if (opts.includeGenerated) {
    const gen = join(root, "_generated");
    try {
      for (const name of readdirSync(gen)) out.push(join(gen, name));
    } catch {
      // not generated yet
    }
  }
  return out.sort();
}
