/**
 * Runs the Convex CLI on a staged copy of the functions.
 *
 * Why: this package keeps its functions flat in the package directory (next to
 * package.json), but the Convex CLI walks the whole functions directory and
 * would treat node_modules/, tests/, testbackend/ and tools/ as functions
 * (codegen crashes on them). So this script copies exactly the function
 * sources — top-level *.ts with a single dot, lib/**, and _generated/ —
 * into .stage/convex/ beside a symlink to node_modules, runs
 * `convex <args>` there, and copies .stage/convex/_generated back.
 *
 *   npm run codegen                     # = tsx tools/convex.ts codegen --system-udfs --typecheck disable
 *   npx tsx tools/convex.ts deploy      # same staging for deploys (needs CONVEX_DEPLOY_KEY)
 *
 * `convex dev` through this script would watch the staged copy, not the
 * sources, so it is not a supported workflow in this layout.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { functionFiles } from "./functionFiles";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stage = join(root, ".stage");
const stagedFunctions = join(stage, "convex");

rmSync(stage, { recursive: true, force: true });
mkdirSync(stagedFunctions, { recursive: true });
for (const file of functionFiles(root, { includeGenerated: true, includeConfig: true })) {
  const dest = join(stagedFunctions, relative(root, file));
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(file, dest);
}
cpSync(join(root, "package.json"), join(stage, "package.json"));
// The CLI type-checks (unless --typecheck disable) with the functions dir's tsconfig.
cpSync(join(root, "tsconfig.json"), join(stagedFunctions, "tsconfig.json"));
symlinkSync(join(root, "node_modules"), join(stage, "node_modules"), "dir");
for (const f of [".env.local", ".env"]) if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f));

const cli = join(root, "node_modules", "convex", "bin", "main.js");
const res = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { cwd: stage, stdio: "inherit", env: process.env });
if (res.status === 0 && existsSync(join(stagedFunctions, "_generated"))) {
  rmSync(join(root, "_generated"), { recursive: true, force: true });
  cpSync(join(stagedFunctions, "_generated"), join(root, "_generated"), { recursive: true });
  console.log(`copied ${readdirSync(join(root, "_generated")).length} files to _generated/`);
}
rmSync(stage, { recursive: true, force: true });
process.exit(res.status ?? 1);
