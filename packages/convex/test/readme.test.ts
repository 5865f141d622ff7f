// @vitest-environment node
/**
 * Drift guard for convex/README.md's table of admin functions ("###
 * Functions"): every public function llmmeter() builds has its row, with
 * its kind (query or mutation), and every row names one. Eight functions
 * added since the table was written had none, and nine signed routes had
 * no row in the routes table ("| `/path` |"), which this holds too.
 */
import { readFileSync } from "node:fs";
import { httpRouter } from "convex/server";
import { expect, test } from "vitest";
import { addHttpRoutes, llmmeter } from "../src";

const README = new URL("../../../convex/README.md", import.meta.url);

/** The rows of the table under "### Functions": name → kind. */
function tableRows(): Map<string, string> {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf("\n### Functions\n");
  expect(start, "convex/README.md has a ### Functions section").toBeGreaterThan(0);
  const section = text.slice(start + 1).split(/\n#{2,3} /)[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const m = /^\| `(\w+)` \((query|mutation)\) \|/.exec(line);
    if (m) {
      expect(rows.has(m[1]!), `${m[1]} has one row`).toBe(false);
      rows.set(m[1]!, m[2]!);
    }
  }
  return rows;
}

/** The public functions llmmeter() builds: name → kind. */
function publicFunctions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, fn] of Object.entries(llmmeter({ isAdmin: () => false }))) {
    const f = fn as { isPublic?: boolean; isQuery?: boolean; isMutation?: boolean };
    if (f.isPublic) out.set(name, f.isQuery ? "query" : f.isMutation ? "mutation" : "action");
  }
  return out;
}

test("convex/README.md's function table lists every public function llmmeter() builds, as its kind", () => {
  const rows = tableRows();
  const fns = publicFunctions();
  expect(fns.size).toBeGreaterThan(20); // the flags were read
  expect([...fns.keys()].filter((n) => !rows.has(n)).sort()).toEqual([]); // missing rows
  expect([...rows.keys()].filter((n) => !fns.has(n)).sort()).toEqual([]); // rows of no public function
  for (const [name, kind] of fns) expect(`${name} (${rows.get(name)})`).toBe(`${name} (${kind})`);
});

test("convex/README.md's route table has a row for every signed route addHttpRoutes adds", () => {
  const text = readFileSync(README, "utf8");
  const http = httpRouter();
  addHttpRoutes(http);
  const paths = http.getRoutes().map(([path]) => path);
  expect(paths.length).toBeGreaterThan(30);
  expect(paths.filter((p) => !text.includes(`\n| \`${p}\` |`)).sort()).toEqual([]);
});
