import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskLog, generalizeReason } from "./tasks.ts";

test("generalizeReason groups reasons that differ only in numbers, paths and URLs", () => {
  assert.equal(generalizeReason("remote compiles paused for 4 s after 5 consecutive failures: x"), "remote compiles paused for N s after N consecutive failures: x");
  assert.equal(generalizeReason("input /home/u/p/a.h cannot be read: ENOENT"), "input <path> cannot be read: ENOENT");
  assert.equal(generalizeReason("cannot reach goma server at http://127.0.0.1:5050/cxx-compiler-service: refused"), "cannot reach goma server at <url> refused");
});

test("summary: hit rate over the compiles the backend answered; direct and unreachable are steps, not tasks", () => {
  const log = new TaskLog();
  for (const o of ["remote", "remote", "remote", "cacheHit"] as const) log.finish(log.start(["gcc", "-c", "a.c"], "/p", 1), o, { exitCode: 0 });
  log.finish(log.start(["gcc", "-c", "b.c"], "/p", 1), "localFallback", { reason: "cannot reach goma server at http://h:1/x: refused" });
  log.report({ outcome: "direct", reason: "preprocess only (-E)", ms: 12.34, exitCode: 0, argv: ["gcc", "-E", "a.c"] });
  log.report({ outcome: "unreachable", ms: 5, exitCode: 0 });
  const s = log.summary({ sent: 10, received: 20 });
  assert.equal(s.counts.total, 5);
  assert.equal(s.steps, 7);
  assert.equal(s.hitRatePercent, 25);
  assert.equal(s.remotePercent, 80);
  assert.equal(s.timeMs.local, 17);
  assert.deepEqual(s.bytes, { sent: 10, received: 20 });
  assert.equal(s.localReasons.length, 3);
  assert.equal(log.durationHistogram().reduce((a, b) => a + b.count, 0), 4);
  log.zero();
  const z = log.summary({ sent: 0, received: 0 });
  assert.equal(z.steps, 0);
  assert.equal(z.hitRatePercent, null);
  assert.deepEqual(z.localReasons, []);
  assert.equal(log.list().length, 7, "zeroing keeps the task list");
});

test("report: odd input is checked, never thrown on; a local run's time is added to its task once", () => {
  const log = new TaskLog();
  const t = log.start(["gcc", "-c", "a.c"], "/p", 1);
  log.finish(t, "local", { reason: "unsupported flag" });
  const v = log.version;
  assert.equal(log.report({ id: t.id, ms: 40, exitCode: 1 })?.localMs, 40);
  assert.equal(log.report({ id: t.id, ms: 40, exitCode: 1 }), undefined, "only once");
  assert.equal(log.report({ id: 999, ms: 1 }), undefined);
  assert.deepEqual(log.list(v).map((x) => x.id), [t.id], "the change shows in list(after)");
  const odd = log.report({ argv: "not an array", ms: -5, exitCode: 1.5, pid: "x", at: NaN } as never);
  assert.equal(odd?.outcome, "direct");
  assert.deepEqual(odd?.argv, []);
  assert.equal(odd?.localMs, undefined);
  assert.equal(odd?.exitCode, undefined);
  assert.equal(log.summary({ sent: 0, received: 0 }).timeMs.local, 40);
});
