/**
 * A loopback web server for tests that need the portal somewhere other than
 * the Go service: it serves a built app from `dir` under `prefix` (SPA
 * fallback to index.html) and forwards /api/* to the service, the way an
 * app's own web server would. close() drops every connection at once, so
 * the browser sees the service as unreachable; `port` (a closed server's)
 * brings it back at the same origin.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

export interface HostServer {
  url: string;
  close: () => Promise<void>;
}

export async function startHostServer(opts: { dir: string; prefix: string; api: string; port?: number }): Promise<HostServer> {
  const prefix = opts.prefix.replace(/\/$/, "");
  const serveFile = async (res: ServerResponse, pathname: string) => {
    const rel = normalize(decodeURIComponent(pathname.slice(prefix.length))).replace(/^(\.\.(\/|$))+/, "");
    const file = rel === "/" || rel === "" || rel === "." ? "index.html" : rel;
    let body: Buffer;
    let ext = extname(file);
    try {
      body = await readFile(join(opts.dir, file));
    } catch {
      if (ext) {
        res.writeHead(404).end("not found");
        return;
      }
      body = await readFile(join(opts.dir, "index.html"));
      ext = ".html";
    }
    res.writeHead(200, { "Content-Type": TYPES[ext] ?? "application/octet-stream", "Cache-Control": "no-store" }).end(body);
  };
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const h of ["content-type", "authorization"]) if (req.headers[h]) headers[h] = String(req.headers[h]);
    const r = await fetch(opts.api + req.url, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
    });
    res.writeHead(r.status, { "Content-Type": r.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await r.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://x");
    const done = pathname.startsWith("/api/") ? forward(req, res) : pathname.startsWith(prefix) ? serveFile(res, pathname) : null;
    if (!done) {
      res.writeHead(404).end("not found");
      return;
    }
    done.catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(opts.port ?? 0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
