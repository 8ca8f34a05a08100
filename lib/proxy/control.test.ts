import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, GomaError } from "../util/status.ts";
import { VERSION } from "../util/version.ts";
import { TaskLog } from "./tasks.ts";
import { controlAnswer, ProxyStats, ServerHealth, type ControlState } from "./control.ts";

/** A stand-in for the HTTP client: a ping that answers as told, and byte counters. */
class FakeHttp {
  pings = 0;
  answer: Error | undefined = new GomaError(Code.Unavailable, "cannot reach goma server at http://127.0.0.1:5050/cxx-compiler-service: refused");
  readonly stats = { requests: 0, errors: 0, bytesSent: 0, bytesReceived: 0 };
  readonly baseUrl = "http://127.0.0.1:5050/cxx-compiler-service";
  async ping(): Promise<void> {
    this.pings++;
    if (this.answer) throw this.answer;
  }
}

function state(http = new FakeHttp(), beforeRead = () => {}): { s: ControlState; http: FakeHttp; tasks: TaskLog } {
  const tasks = new TaskLog();
  const s: ControlState = {
    tasks, http, health: new ServerHealth(http), stats: new ProxyStats(tasks, http, beforeRead), dashboardPort: () => 8089,
    authorization: () => ({ header: "Bearer secret", source: "stored token", path: "/home/u/.config/goma/token" }),
  };
  return { s, http, tasks };
}

test("ServerHealth.ping() records ok or the server's error, never rejects", async () => {
  const http = new FakeHttp();
  const h = new ServerHealth(http);
  assert.equal(h.status, "running: ping no response");
  await h.ping();
  assert.equal(h.status, "running: cannot reach goma server at http://127.0.0.1:5050/cxx-compiler-service: refused");
  http.answer = undefined;
  await h.ping();
  assert.equal(h.status, "ok");
});

test("controlAnswer('stats') shows counters, health, ports and where the credentials come from, never the header", async () => {
  const { s } = state();
  const a = await controlAnswer("stats", s) as Record<string, unknown>;
  assert.equal(a.health, "running: ping no response");
  assert.equal(a.dashboardPort, 8089);
  assert.equal(a.server, "http://127.0.0.1:5050/cxx-compiler-service");
  assert.deepEqual(a.auth, { source: "stored token", path: "/home/u/.config/goma/token", error: undefined });
  assert.equal(a.pid, process.pid);
  assert.equal(a.version, VERSION);
  assert.equal(a.total, 0);
  assert.doesNotMatch(JSON.stringify(a), /secret/);
});

test("controlAnswer('health') pings the server first, then answers as stats without auth", async () => {
  const { s, http } = state();
  http.answer = undefined;
  const a = await controlAnswer("health", s) as Record<string, unknown>;
  assert.equal(http.pings, 1);
  assert.equal(a.health, "ok");
  assert.equal("auth" in a, false);
});

test("controlAnswer('zero') answers the summary before the reset; the next summary counts from zero, bytes too", async () => {
  let reads = 0;
  const { s, tasks, http } = state(new FakeHttp(), () => reads++);
  tasks.finish(tasks.start(["gcc", "-c", "a.c"], "/", 1), "remote");
  http.stats.bytesSent = 100;
  http.stats.bytesReceived = 40;
  const before = await controlAnswer("zero", s) as { counts: { remote: number }; bytes: { sent: number; received: number } };
  assert.equal(before.counts.remote, 1);
  assert.deepEqual(before.bytes, { sent: 100, received: 40 });
  http.stats.bytesSent = 130;
  const after = await controlAnswer("summary", s) as { counts: { remote: number }; bytes: { sent: number; received: number } };
  assert.equal(after.counts.remote, 0);
  assert.deepEqual(after.bytes, { sent: 30, received: 0 });
  assert.equal(reads, 2, "every read first counts goma cc's spooled runs");
});

test("controlAnswer() answers quit, tasks and unknown names", async () => {
  const { s, tasks } = state();
  tasks.start(["gcc", "-c", "a.c"], "/", 1);
  assert.deepEqual(await controlAnswer("quit", s), { ok: true });
  assert.equal((await controlAnswer("tasks", s) as unknown[]).length, 1);
  assert.deepEqual(await controlAnswer("ping", s), { ok: true, health: "running: ping no response" });
  assert.deepEqual(await controlAnswer("bogus", s), { ok: true, health: "running: ping no response" });
});
