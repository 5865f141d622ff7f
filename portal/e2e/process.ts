/** Child processes of the e2e run (the service, Chromium, a simulator). */
import type { ChildProcess } from "node:child_process";

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
