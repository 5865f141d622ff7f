/**
 * Loopback ports for the services the e2e tests start as child processes.
 *
 * Freeing a port and binding it again later (a child starting on it, or the
 * simulator restarted on the same port in health.e2e.ts) races with every
 * other process: an outgoing connection may take the port as its source
 * port meanwhile. The Go tests hold such ports without listening
 * (internal/testaddr); Node cannot bind a TCP port without listening, so
 * here the port lies below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range), which source ports never come from: only
 * a program asking for that very number could take it.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const lowest = 10_000;

/** The first port of the ephemeral range; Linux's default when unreadable. */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > lowest + 1_000) return first;
  } catch {
    // not Linux
  }
  return 32_768;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once("error", () => ok(false));
    s.listen(port, "127.0.0.1", () => s.close(() => ok(true)));
  });
}

/** A loopback port free now, outside the ephemeral range (see above). */
export async function freePort(): Promise<number> {
  const end = ephemeralStart();
  for (let i = 0; i < 200; i++) {
    const port = lowest + Math.floor(Math.random() * (end - lowest));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in [${lowest}, ${end})`);
}
