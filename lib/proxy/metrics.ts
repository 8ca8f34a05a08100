/**
 * The proxy's `/metrics` (Prometheus text format 0.0.4) on its dashboard port, written by prom-client
 * (the Prometheus client for Node maintained under siimon/prom-client: exact text format, escaping,
 * histogram `_bucket`/`_sum`/`_count` series). Counters only grow: `goma proxy stats --zero` resets the
 * human statistics, never these (Prometheus computes rates from them).
 *
 * Series (all prefixed `goma_proxy_`):
 * - `compiles_total{outcome}`: finished steps by outcome (lib/proxy/tasks.ts `Outcome`);
 * - `compile_duration_seconds{outcome}`: histogram of the proxy's time per task (the local run's time
 *   for `direct` and `unreachable`);
 * - `stage_duration_seconds{stage}`: histogram per stage (flags, info, inputs, request, exec, outputs);
 * - `cache_hits_total`, `remote_compile_errors_total` (remote compiles with a non-zero exit), `exec_retries_total`;
 * - `server_bytes_sent_total`, `server_bytes_received_total`: HTTP bodies to and from the server;
 * - `server_rpc_errors_total{endpoint,code}`: failed calls to the server by gRPC code name;
 * - `breaker_open` (0/1), `breaker_consecutive_failures`, `tasks_running`, `server_healthy` (0/1).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { TaskLog, TaskRecord } from "./tasks.ts";
import type { GomaHttpClient } from "../goma/http-client.ts";
import type { Breaker } from "./breaker.ts";

/** What the proxy's metrics read. */
export interface ProxyMetricsSources {
  tasks: TaskLog;
  http: GomaHttpClient;
  breaker?: Breaker;
  /** The proxy's current health string ("ok" when the server answered the last ping). */
  health: () => string;
}

/** The proxy's registry and the hook that feeds it. */
export interface ProxyMetrics {
  registry: Registry;
  /** Records a finished task (TaskLog.onFinish). */
  observe(t: TaskRecord): void;
  /** The text exposition (Content-Type {@link ProxyMetrics.contentType}). */
  text(): Promise<string>;
  contentType: string;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Builds a fresh registry (one per proxy: nothing global, so tests can run several). */
export function createProxyMetrics(src: ProxyMetricsSources): ProxyMetrics {
  const registry = new Registry();
  const registers = [registry];
  const compiles = new Counter({ name: "goma_proxy_compiles_total", help: "Finished compile steps by outcome", labelNames: ["outcome"], registers });
  const duration = new Histogram({ name: "goma_proxy_compile_duration_seconds", help: "Time per step by outcome (proxy time; the local run's for direct and unreachable)", labelNames: ["outcome"], buckets: SECONDS, registers });
  const stages = new Histogram({ name: "goma_proxy_stage_duration_seconds", help: "Time per stage of a task", labelNames: ["stage"], buckets: SECONDS, registers });
  const hits = new Counter({ name: "goma_proxy_cache_hits_total", help: "Compiles served from the backend's action cache", registers });
  const remoteErrors = new Counter({ name: "goma_proxy_remote_compile_errors_total", help: "Remote compiles whose compiler exited non-zero", registers });
  const retries = new Counter({ name: "goma_proxy_exec_retries_total", help: "Missing-input round trips and retried /e calls", registers });
  const monotonic = (name: string, help: string, read: () => number) => {
    let last = 0;
    return new Counter({
      name, help, registers,
      collect() {
        const v = read();
        if (v > last) this.inc(v - last);
        last = Math.max(last, v);
      },
    });
  };
  monotonic("goma_proxy_server_bytes_sent_total", "Bytes of HTTP bodies sent to the goma server", () => src.http.stats.bytesSent);
  monotonic("goma_proxy_server_bytes_received_total", "Bytes of HTTP bodies received from the goma server", () => src.http.stats.bytesReceived);
  monotonic("goma_proxy_server_rpcs_total", "Calls to the goma server", () => src.http.stats.requests);
  const rpcErrorsSeen = new Map<string, number>();
  new Counter({
    name: "goma_proxy_server_rpc_errors_total", help: "Failed calls to the goma server by endpoint and gRPC code", labelNames: ["endpoint", "code"], registers,
    collect() {
      for (const [k, e] of src.http.errorsByCode) {
        const d = e.count - (rpcErrorsSeen.get(k) ?? 0);
        if (d > 0) this.inc({ endpoint: e.endpoint, code: e.code }, d);
        rpcErrorsSeen.set(k, e.count);
      }
    },
  });
  new Gauge({ name: "goma_proxy_breaker_open", help: "1 while remote compiles are paused after consecutive failures", registers,
    collect() { this.set(src.breaker && src.breaker.state().pausedForMs > 0 ? 1 : 0); } });
  new Gauge({ name: "goma_proxy_breaker_consecutive_failures", help: "Consecutive infrastructure failures counted by the breaker", registers,
    collect() { this.set(src.breaker?.state().consecutiveFailures ?? 0); } });
  new Gauge({ name: "goma_proxy_tasks_running", help: "Tasks in progress", registers, collect() { this.set(src.tasks.stats.running); } });
  new Gauge({ name: "goma_proxy_server_healthy", help: "1 when the goma server answered the last ping", registers, collect() { this.set(src.health() === "ok" ? 1 : 0); } });
  for (const o of ["remote", "cacheHit", "localFallback", "local", "direct", "unreachable", "failed"]) compiles.inc({ outcome: o }, 0);

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    observe(t) {
      const outcome = t.outcome ?? "failed";
      compiles.inc({ outcome });
      const ms = t.durationMs ?? t.localMs;
      if (ms !== undefined) duration.observe({ outcome }, ms / 1000);
      for (const [stage, v] of Object.entries(t.stages)) stages.observe({ stage }, v / 1000);
      if (outcome === "cacheHit") hits.inc();
      if (outcome === "remote" && t.exitCode) remoteErrors.inc();
      if (t.retries) retries.inc(t.retries);
    },
  };
}
