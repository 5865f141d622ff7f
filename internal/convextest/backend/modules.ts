/**
 * The Convex function sources under convex/, by the rule Convex's bundler
 * applies to pick entry points (node_modules/convex/dist/esm/bundler/index.js,
 * entryPoints): .ts/.js files, no dotfiles or #-files, at most one dot in the
 * name (so *.test.ts, test.setup.ts and *.d.ts are skipped), anywhere under
 * convex/ — plus _generated/, which convex-test needs to find the root.
 * convex/test.setup.ts selects the same set with import.meta.glob.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

function isEntryPoint(name: string): boolean {
  return /^[^.#][^.]*\.(ts|js)$/.test(name);
}

export function functionFiles(convexDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "_generated" && e.name !== "node_modules") walk(p);
      } else if (isEntryPoint(e.name)) out.push(p);
    }
  };
  walk(convexDir);
  for (const e of readdirSync(join(convexDir, "_generated"), { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith(".js")) out.push(join(convexDir, "_generated", e.name));
  }
  return out.sort();
}
