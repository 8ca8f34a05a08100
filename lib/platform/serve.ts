/**
 * Hosts a web-standard `(Request) => Promise<Response>` handler on a TCP port: `Bun.serve` on Bun,
 * node:http elsewhere (Deno and Node). The only runtime-specific HTTP server code in goma.
 */
import type { AddressInfo } from "node:net";

/** A running server. `port` is the bound port (useful with port 0). */
export interface HttpServer {
  port: number;
  stop(): Promise<void>;
}

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  handler: (req: Request) => Promise<Response>;
  /** Requests with larger bodies are refused by the runtime (the handler should refuse earlier, with 413). */
  maxRequestBodySize?: number;
}

/**
 * Starts serving; resolves once listening.
 * @throws {Error} when the port is taken (EADDRINUSE) or cannot be bound.
 */
export async function serveHttp(opts: ServeOptions): Promise<HttpServer> {
  const Bun_ = (globalThis as { Bun?: typeof Bun }).Bun;
  if (Bun_) {
    const s = Bun_.serve({
      hostname: opts.hostname,
      port: opts.port,
      maxRequestBodySize: opts.maxRequestBodySize ?? 256 * 1024 * 1024,
      idleTimeout: 255,
      fetch: opts.handler,
    });
    return { port: s.port ?? opts.port, stop: async () => void (await s.stop(true)) };
  }
  const http = await import("node:http");
  const server = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
      const method = req.method ?? "GET";
      const request = new Request(`http://${opts.hostname}:${opts.port}${req.url ?? "/"}`, {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? undefined : body,
      });
      const response = await opts.handler(request);
      res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`internal error: ${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
