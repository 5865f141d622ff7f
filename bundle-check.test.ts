// @vitest-environment node
/** bundle-check.mjs fails on what Convex's default runtime cannot bundle, and passes on what it can. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, test } from "vitest";

const script = join(dirname(fileURLToPath(import.meta.url)), "bundle-check.mjs");
let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function check(files: Record<string, string>) {
  dir = mkdtempSync(join(tmpdir(), "bundle-check-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
}

const readsFs = 'import { readFileSync } from "node:fs";\nexport const f = () => readFileSync("/x", "utf8");\n';

const cases: { name: string; files: Record<string, string>; ok: boolean }[] = [
  // the deliberate error: a default-runtime module importing a Node.js builtin
  { name: "node:fs in a default-runtime file fails", files: { "bad.ts": readsFs }, ok: false },
  // the same import is fine in a "use node" file (bundled for Node.js, as the CLI does)
  { name: '"use node" file may import node:fs', files: { "action.ts": '"use node";\n' + readsFs }, ok: true },
  // tests and helpers are not entry points (more than one dot), so their imports do not count
  { name: "*.test.ts is skipped", files: { "ok.ts": "export const x = 1;\n", "ok.test.ts": readsFs }, ok: true },
];

test.each(cases)("$name", ({ files, ok }) => {
  const res = check(files);
  expect(res.status === 0, res.stdout + res.stderr).toBe(ok);
  if (!ok) expect(res.stderr).toMatch(/Could not resolve "node:fs"/);
});
