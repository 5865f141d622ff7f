/**
 * Starts the Go fold core (internal/fold/foldserver) on 127.0.0.1 for the
 * Convex function tests: every derived value is computed in Go, so the
 * tests fold with the same code as the fold job (see foldAll in
 * convex/test.setup.ts). Needs the Go toolchain, as `make test` does.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

let child: ChildProcess | undefined;
let dir: string | undefined;

export async function setup(project: TestProject) {
  dir = mkdtempSync(join(tmpdir(), "llmmeter-foldserver-"));
  const bin = join(dir, "foldserver");
  execFileSync("go", ["build", "-o", bin, "./internal/fold/foldserver"], { stdio: "inherit" });
  const proc = spawn(bin, [], { stdio: ["pipe", "pipe", "inherit"] });
  child = proc;
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /listening (\S+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`foldserver exited with ${code}`)));
  });
  project.provide("foldUrl", url);
}

export async function teardown() {
  child?.stdin?.end();
  child?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// (convex/test.setup.ts declares the same for the functions' tsconfig.)
declare module "vitest" {
  export interface ProvidedContext {
    foldUrl: string;
  }
}
