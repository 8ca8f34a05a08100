/**
 * `goma server`'s `/metrics` (Prometheus text format 0.0.4, written by prom-client; no auth, like
 * `/healthz` and the status page: counters only, no names or paths). {@link withMetrics} wraps the
 * server's outermost handler, so refused requests (401, 413) are counted too.
 *
 * Series (all prefixed `goma_server_`):
 * - `requests_total{endpoint,status}`, `request_duration_seconds{endpoint}` (histogram),
 *   `request_bytes_total{endpoint}`, `response_bytes_total{endpoint}` (bodies as sent on the wire);
 *   `endpoint` is the Goma API's (`ping`, `e`, `s`, `l`, `sl`) or `other`;
 * - `exec_total{result}`: `/e` requests by result: `cache_hit`, `executed`, `missing_inputs`, `error`;
 * - `cache_hits_total`: compiles answered from the action cache;
 * - `backend_rpc_errors_total{method,code}`: failed REAPI calls by method and gRPC code name;
 * - `file_store_blobs`, `file_store_bytes`: the `/s` blob store.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { rpcErrorListeners } from "../reapi/rpc-caller.ts";
import type { ExecStats } from "./exec.ts";
import { PREFIX } from "./handler.ts";

/** What the server's metrics read. */
export interface ServerMetricsSources {
  exec: { stats: ExecStats };
  files: { stats(): { blobs: number; blobBytes: number } };
}

/** The server's registry; `close()` stops listening to backend RPC errors. */
export interface ServerMetrics {
  registry: Registry;
  observe(endpoint: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
  close(): void;
}

const ENDPOINTS = new Set(["ping", "e", "s", "l", "sl"]);
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Builds a fresh registry for one server. */
export function createServerMetrics(src: ServerMetricsSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: "goma_server_requests_total", help: "HTTP requests by Goma endpoint and status", labelNames: ["endpoint", "status"], registers });
  const duration = new Histogram({ name: "goma_server_request_duration_seconds", help: "Time to answer a request, by Goma endpoint", labelNames: ["endpoint"], buckets: SECONDS, registers });
  const bytesIn = new Counter({ name: "goma_server_request_bytes_total", help: "Request body bytes as received", labelNames: ["endpoint"], registers });
  const bytesOut = new Counter({ name: "goma_server_response_bytes_total", help: "Response body bytes as sent", labelNames: ["endpoint"], registers });
  const seen: Record<string, number> = {};
  const delta = (k: keyof ExecStats) => {
    const v = src.exec.stats[k];
    const d = v - (seen[k] ?? 0);
    seen[k] = v;
    return Math.max(0, d);
  };
  let hitsSeen = 0;
  new Counter({
    name: "goma_server_exec_total", help: "/e requests by result", labelNames: ["result"], registers,
    collect() {
      this.inc({ result: "cache_hit" }, delta("cacheHits"));
      this.inc({ result: "executed" }, delta("executed"));
      this.inc({ result: "missing_inputs" }, delta("missingInputReplies"));
      this.inc({ result: "error" }, delta("errors"));
    },
  });
  new Counter({
    name: "goma_server_cache_hits_total", help: "Compiles answered from the action cache", registers,
    collect() {
      const v = src.exec.stats.cacheHits;
      if (v > hitsSeen) this.inc(v - hitsSeen);
      hitsSeen = Math.max(hitsSeen, v);
    },
  });
  const rpcErrors = new Counter({ name: "goma_server_backend_rpc_errors_total", help: "Failed REAPI calls to the backend by method and gRPC code", labelNames: ["method", "code"], registers });
  new Gauge({ name: "goma_server_file_store_blobs", help: "Blobs held for /s and /l", registers, collect() { this.set(src.files.stats().blobs); } });
  new Gauge({ name: "goma_server_file_store_bytes", help: "Bytes held for /s and /l", registers, collect() { this.set(src.files.stats().blobBytes); } });
  const listener = (method: string, code: string) => rpcErrors.inc({ method: method.replace(/^\/build\.bazel\.remote\.execution\.v2\.|^\/google\./, ""), code });
  rpcErrorListeners.add(listener);
  return {
    registry,
    observe(endpoint, status, seconds, inBytes, outBytes) {
      requests.inc({ endpoint, status: String(status) });
      duration.observe({ endpoint }, seconds);
      if (inBytes > 0) bytesIn.inc({ endpoint }, inBytes);
      if (outBytes > 0) bytesOut.inc({ endpoint }, outBytes);
    },
    close: () => void rpcErrorListeners.delete(listener),
  };
}

/**
 * Serves `GET /metrics` and counts every other request (endpoint, status, time, body bytes) of `next`.
 * Never throws on its own: a failing collection answers 500.
 */
export function withMetrics(metrics: ServerMetrics, next: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      try {
        return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } });
      } catch (e) {
        return new Response(`metrics: ${(e as Error).message}\n`, { status: 500 });
      }
    }
    const name = path.startsWith(PREFIX + "/") ? path.slice(PREFIX.length + 1) : "";
    const endpoint = ENDPOINTS.has(name) ? name : "other";
    const t0 = performance.now();
    const res = await next(req);
    if (endpoint === "other") {
      metrics.observe(endpoint, res.status, (performance.now() - t0) / 1000, 0, 0);
      return res;
    }
    const body = new Uint8Array(await res.arrayBuffer());
    metrics.observe(endpoint, res.status, (performance.now() - t0) / 1000, Number(req.headers.get("content-length") ?? 0) || 0, body.byteLength);
    return new Response(body.byteLength ? (body as unknown as BodyInit) : null, { status: res.status, headers: res.headers });
  };
}
