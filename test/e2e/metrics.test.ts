/**
 * `/metrics` (Prometheus text format) on the proxy's dashboard port and on `goma server`, scraped and
 * parsed after real compiles through the binary; and the dashboard's other pages (statz with its
 * histogram, compilerinfoz, logz, the incremental task API the live page polls).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-metrics-"));
  writeFileSync(join(proj, "a.c"), "int a(void) { return 1; }\nint main(void) { return a() - 1; }\n");
  writeFileSync(join(proj, "bad.c"), "int main(void) { return undeclared_thing; }\n");
  const cc = (args: string[]) => run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "a.o"])).code, 0);
  rmSync(join(proj, "a.o"));
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "a.o"])).code, 0);
  assert.notEqual((await cc(["gcc", "-c", "bad.c", "-o", "bad.o"])).code, 0);
  assert.equal((await cc(["gcc", "a.o", "-o", "prog"])).code, 0);
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

/** One sample of a scrape: name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format 0.0.4 strictly: every line is `# HELP`, `# TYPE` or a
 * sample `name{l="v",…} value`; each sample's metric family has a TYPE line first.
 */
function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === "TYPE") {
        assert.match(m[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[l[1]!] = l[2]!;
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]!) || types.has(family), `no TYPE line before ${m[1]}`);
    samples.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return { samples, types };
}

async function scrape(port: number): Promise<{ samples: Sample[]; types: Map<string, string>; get: (name: string, labels?: Record<string, string>) => number | undefined }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const p = parseProm(await res.text());
  const get = (name: string, labels: Record<string, string> = {}) =>
    p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { ...p, get };
}

test("the proxy's /metrics: compiles by outcome, stage histograms, cache hits, bytes, breaker, RPC errors by code", async () => {
  // The link's report arrives after goma cc exits: scrape until it is counted (bounded).
  let m = await scrape(stack.dashboardPort);
  for (const deadline = Date.now() + 30_000; m.get("goma_proxy_compiles_total", { outcome: "direct" }) !== 1 && Date.now() < deadline;) m = await scrape(stack.dashboardPort);
  assert.equal(m.get("goma_proxy_compiles_total", { outcome: "remote" }), 2);
  assert.equal(m.get("goma_proxy_compiles_total", { outcome: "cacheHit" }), 1);
  assert.equal(m.get("goma_proxy_compiles_total", { outcome: "direct" }), 1);
  assert.equal(m.get("goma_proxy_compiles_total", { outcome: "localFallback" }), 0);
  assert.equal(m.get("goma_proxy_cache_hits_total"), 1);
  assert.equal(m.get("goma_proxy_remote_compile_errors_total"), 1);
  assert.equal(m.types.get("goma_proxy_stage_duration_seconds"), "histogram");
  assert.equal(m.get("goma_proxy_stage_duration_seconds_count", { stage: "exec" }), 3);
  assert.equal(m.get("goma_proxy_stage_duration_seconds_bucket", { stage: "exec", le: "+Inf" }), 3);
  assert.equal(m.get("goma_proxy_compile_duration_seconds_count", { outcome: "remote" }), 2);
  assert.ok(m.get("goma_proxy_server_bytes_sent_total")! > 0);
  assert.ok(m.get("goma_proxy_server_bytes_received_total")! > 0);
  assert.equal(m.get("goma_proxy_breaker_open"), 0);
  assert.equal(m.get("goma_proxy_server_healthy"), 1);

  // The server's backend RPC errors are the server's; the proxy's own failed calls show after it goes down.
  const s = await scrape(stack.serverPort);
  assert.equal(s.get("goma_server_exec_total", { result: "cache_hit" }), 1);
  assert.equal(s.get("goma_server_exec_total", { result: "executed" }), 2);
  assert.equal(s.get("goma_server_cache_hits_total"), 1);
  // Every /e answered 200: a result, or the missing-input reply that makes the proxy resend with content.
  const calls = 3 + s.get("goma_server_exec_total", { result: "missing_inputs" })!;
  assert.equal(s.get("goma_server_requests_total", { endpoint: "e", status: "200" }), calls);
  assert.equal(s.types.get("goma_server_request_duration_seconds"), "histogram");
  assert.equal(s.get("goma_server_request_duration_seconds_count", { endpoint: "e" }), calls);
  assert.ok(s.get("goma_server_request_bytes_total", { endpoint: "e" })! > 0);
  assert.ok(s.get("goma_server_response_bytes_total", { endpoint: "e" })! > 0);
  // Each action-cache miss is a NOT_FOUND from GetActionResult (REAPI's answer for a miss).
  assert.equal(s.get("goma_server_backend_rpc_errors_total", { method: "ActionCache/GetActionResult", code: "NotFound" }), 2);
  assert.ok(s.get("goma_server_file_store_blobs")! >= 0);

  await stack.stopServer();
  assert.equal((await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "down.o"], { cwd: proj, env: stack.env })).code, 0);
  const d = await scrape(stack.dashboardPort);
  assert.equal(d.get("goma_proxy_compiles_total", { outcome: "localFallback" }), 1);
  assert.ok(d.get("goma_proxy_server_rpc_errors_total", { endpoint: "/e", code: "Unavailable" })! >= 1, "the failed /e call, by gRPC code");
  assert.equal(d.get("goma_proxy_breaker_consecutive_failures"), 1);
});

test("the dashboard's pages: statz with a histogram, compilerinfoz, logz, and the incremental task API", async () => {
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${stack.dashboardPort}${path}`);
    assert.equal(r.status, 200, path);
    return r.text();
  };
  const main = await get("/");
  assert.match(main, /<table id="tasks">/);
  assert.doesNotMatch(main, /breaker\.|include\.|bytesSent|server has/, "no raw internal counters on the main page");
  assert.doesNotMatch(main, /<script[^>]+src=|<link[^>]+href="http/, "self-contained: no external script or style");
  const statz = await get("/statz");
  assert.match(statz, /<table id="histogram"/);
  assert.match(statz, /Top reasons for local runs/);
  assert.match(statz, /not a compile \(no -c\): link or other step/);
  const counts = [...statz.matchAll(/<tr><td>[^<]+ ms<\/td><td class="num">(\d+)<\/td>/g)].map((x) => Number(x[1]));
  assert.ok(counts.length >= 10, "one row per bucket");
  assert.ok(counts.reduce((a, b) => a + b, 0) >= 3, "the remote compiles and the cache hit are in the histogram");
  const ci = await get("/compilerinfoz");
  assert.match(ci, /gcc <code>\/usr\/bin\/gcc<\/code>/);
  assert.match(ci, /x86_64-linux-gnu|aarch64-linux-gnu/);
  assert.match(ci, /predefined macros/);
  const logz = await get("/logz");
  assert.match(logz, /INFO goma proxy .* on .*goma\.ipc, dashboard http:\/\/127\.0\.0\.1:\d+/);
  const all = JSON.parse(await get("/api/tasks?after=0")) as { version: number; tasks: { id: number; updated: number }[] };
  assert.ok(all.tasks.length >= 4);
  const none = JSON.parse(await get(`/api/tasks?after=${all.version}`)) as { version: number; tasks: unknown[] };
  assert.equal(none.version, all.version);
  assert.deepEqual(none.tasks, []);
  const summary = JSON.parse(await get("/api/summary")) as { hitRatePercent: number; histogram: { le: number | null; count: number }[] };
  assert.ok(summary.histogram.length > 5);
  assert.equal(typeof summary.hitRatePercent, "number");
});
