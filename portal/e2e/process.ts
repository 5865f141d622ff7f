/** Child processes of the e2e run (the service, Chromium, a simulator). */
import type { ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";

/** Stops a child this run started: SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(proc: ChildProcess) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((ok) => {
    const t = setTimeout(() => {
      proc.kill("SIGKILL");
      ok();
    }, 5_000);
    proc.once("exit", () => {
      clearTimeout(t);
      ok();
    });
    proc.kill("SIGTERM");
  });
}

/**
 * Removes a temporary tree of this run. Chromium's helper processes can
 * still be writing into its profile for a moment after the browser exits,
 * so a removal can meet ENOTEMPTY/EBUSY: Node's rm retries those.
 */
export async function removeTree(path: string) {
  await rm(path, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
}
