import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameReader, type CcRequest } from "../ipc/protocol.ts";
import { TaskLog } from "./tasks.ts";
import { ProxyStats, ServerHealth, type ControlState } from "./control.ts";
import { createRequestHandler } from "./request-handler.ts";
import type { TaskAnswer } from "./task.ts";

const decode = (b: Uint8Array | undefined) => {
  assert.ok(b, "an answer");
  const f = new FrameReader<{ stdoutLength?: number; stderrLength?: number }>((h) => (h.stdoutLength ?? 0) + (h.stderrLength ?? 0)).push(b)!;
  return { header: f.header, payload: new TextDecoder().decode(f.payload) };
};

function parts(answer: TaskAnswer) {
  const http = { pings: 0, stats: { requests: 0, errors: 0, bytesSent: 0, bytesReceived: 0 }, baseUrl: "http://s", ping: async () => void http.pings++ };
  const tasks = new TaskLog();
  const control: ControlState = { tasks, http, health: new ServerHealth(http), stats: new ProxyStats(tasks, http), dashboardPort: () => 1 };
  const compiled: CcRequest[] = [];
  let quits = 0;
  const handle = createRequestHandler({ control, compile: async (r) => (compiled.push(r), answer), onQuit: () => void quits++ });
  return { handle, tasks, http, compiled, quits: () => quits };
}

const req: CcRequest = { v: 1, argv: ["gcc", "-c", "a.c"], cwd: "/s", env: {}, umask: 0o22, pid: 5 };

test("createRequestHandler() runs a compile and answers its exit code with stdout and stderr as payload", async () => {
  const out = new TextEncoder().encode("out");
  const err = new TextEncoder().encode("warning");
  const p = parts({ header: { kind: "done", exitCode: 0, stdoutLength: 3, stderrLength: 7 }, stdout: out, stderr: err });
  const a = decode(await p.handle(req));
  assert.deepEqual(a, { header: { kind: "done", exitCode: 0, stdoutLength: 3, stderrLength: 7 }, payload: "outwarning" });
  assert.deepEqual(p.compiled, [req]);
  assert.equal(p.http.pings, 1, "an unhealthy server is pinged again before a compile");
});

test("createRequestHandler() answers a compile the task sends back as local, and an unknown version without a task", async () => {
  const p = parts({ header: { kind: "local", reason: "no compiler", id: 1 } });
  assert.deepEqual(decode(await p.handle(req)).header, { kind: "local", reason: "no compiler", id: 1 });
  assert.deepEqual(decode(await p.handle({ ...req, v: 2 } as unknown as CcRequest)).header, { kind: "local", reason: "unknown request version" });
  assert.equal(p.compiled.length, 1);
});

test("createRequestHandler() counts goma cc's reports without answering, and stops after answering quit", async () => {
  const p = parts({ header: { kind: "local", reason: "-" } });
  assert.equal(await p.handle({ v: 1, report: { outcome: "direct", argv: ["ld"], cwd: "/", pid: 1, ms: 1, exitCode: 0, at: 1 } }), undefined);
  assert.equal(p.tasks.stats.direct, 1);
  assert.deepEqual(decode(await p.handle({ v: 1, control: "quit" })).header, { ok: true });
  assert.equal(p.quits(), 0, "not before the answer is written");
  await new Promise((r) => setImmediate(r));
  assert.equal(p.quits(), 1);
});
