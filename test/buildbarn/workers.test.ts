/**
 * goma against a Buildbarn with two workers (scripts/buildbarn/start.sh --workers 2: two bb_worker +
 * bb_runner pairs behind one bb_scheduler), building Debian's lua5.4 with `make -j8` through
 * scripts/main-job.sh --remoteexec-addr (which compares every object with a local build at the same path
 * and fails on any local fallback):
 *
 * 1. both workers execute goma's actions: each worker's own Prometheus counter of executed actions, and
 *    the ActionResult (`execution_metadata.worker`) of the actions seen running on each worker through
 *    the scheduler's BuildQueueState;
 * 2. in the same build, worker 2 killed (`kill -9` of its bb_worker and bb_runner) while it runs an action,
 *    once 20 actions have completed (at least 5 on each worker): the build still succeeds with identical
 *    objects and no local fallback. What happens
 *    to the actions it was running, as observed: bb_scheduler does not requeue them; when the worker has
 *    not synchronized for a minute (its fixed WorkerWithNoSynchronizationsTimeout) it completes them with
 *    UNAVAILABLE "Worker … disappeared while task was executing", and goma's REAPI client executes them
 *    again as new operations (lib/reapi/execute-client.ts), which worker 1 runs. The test asserts each of
 *    these steps and prints what it saw.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../e2e/harness.ts";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { REPO, MINUTE, need, withBuildbarn } from "./fixtures.ts";
import { tempDir } from "./project.ts";
import type { Buildbarn } from "./buildbarn.ts";
import { sample } from "./sampler.ts";

/** Actions a bb_worker has executed: the counts of its `buildbarn_builder_build_executor_duration_seconds` histogram for stage Running (every result). */
async function executedBy(bb: Buildbarn, worker: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${bb.diagPort(worker)}/metrics`);
  assert.equal(res.status, 200, `${worker} /metrics`);
  const text = await res.text();
  let n = 0;
  for (const m of text.matchAll(/^buildbarn_builder_build_executor_duration_seconds_count\{[^}]*stage="Running"[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** The ActionResult of `hashSize` ("hash/size") in Buildbarn's action cache: the worker that produced it. */
async function resultWorker(bb: Buildbarn, hashSize: string): Promise<string | undefined> {
  const [hash, size] = hashSize.split("/");
  const c = new ReapiClient({ target: bb.address, instanceName: "", insecure: true });
  try {
    const ar = await c.getActionResult({ hash: hash!, sizeBytes: Number(size) });
    return ar?.executionMetadata?.worker ?? undefined;
  } finally {
    c.close();
  }
}

/** main-job.sh for lua5.4 with make -j8 against the Buildbarn `bb`, in a fresh state directory. */
function luaJob(bb: Buildbarn) {
  const state = tempDir("goma-bb-workers-");
  const done = run(["bash", join(REPO, "scripts", "main-job.sh"), "--no-setup", "--remoteexec-addr", bb.address,
    "--jobs", "8", "--state-dir", state, "lua5.4"]);
  return { state, done };
}

function assertJobPassed(r: { code: number; stdout: string; stderr: string }): void {
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.code, 0, `main-job.sh failed:\n${out.slice(-12000)}`);
  assert.match(out, /^lua5\.4: identical: (\d+)\/\1 objects$/m, "every object identical to the local build");
  assert.match(out, /^lua5\.4 +(\d+)\/\1 +\d+ +\d+ +0 /m, "no compile fell back to local");
  const summary = out.slice(out.indexOf("== summary")).split("\n").slice(0, 4).join("\n");
  console.log(`${summary}\n${/^main-job: total time .*$/m.exec(out)?.[0] ?? ""}`);
}

test("lua5.4 with make -j8 against 2 Buildbarn workers: both execute goma's actions; worker 2 killed with kill -9 mid-build: the build succeeds with every object identical to local, its running action executed again on worker 1", { timeout: 40 * MINUTE }, async (t) => {
  if (!need(t, "full")) return;
  await withBuildbarn({ workers: 2 }, async (bb) => {
    const s = sample(bb);
    const job = luaJob(bb);
    let inFlight: string[] = [];
    let before = { "goma-test-1": 0, "goma-test-2": 0 };
    let killedAt = 0;
    // The trigger: 20 actions completed, at least 5 on each worker, and worker 2 running one now.
    const killed = s.until(async () => {
      before = { "goma-test-1": await executedBy(bb, "worker"), "goma-test-2": await executedBy(bb, "worker2") };
      if (before["goma-test-1"] + before["goma-test-2"] < 20 || before["goma-test-1"] < 5 || before["goma-test-2"] < 5) return false;
      return (await s.runningOn("goma-test-2")).length > 0;
    }, "the kill trigger (20 actions done, at least 5 on each worker, worker 2 running one)").then(async () => {
      const pids = [bb.pid("worker2"), bb.pid("runner2")];
      assert.ok(pids.every(Boolean), `pids of worker2 and runner2: ${pids}`);
      inFlight = await s.runningOn("goma-test-2"); // the scheduler's view just before the kill (it may change in between)
      const k = await run(["kill", "-9", ...pids.map(String)]);
      assert.equal(k.code, 0, k.stderr);
      killedAt = Date.now();
      console.log(`actions executed before the kill (bb_worker metrics): ${JSON.stringify(before)}`);
      console.log(`killed worker 2 (bb_worker pid ${pids[0]}, bb_runner pid ${pids[1]}) while it ran ${inFlight.join(", ")}`);
    });
    // The build's end stops the sampler, which rejects a trigger that has not fired: the test fails at once
    // instead of waiting for its timeout.
    const killedOrWhy = killed.then(() => undefined, (e: Error) => e);
    const r = await job.done.finally(() => s.stop());
    const why = await killedOrWhy;
    if (why) assert.fail(`the build ended before worker 2 was killed (${why.message}); ` +
      `worker 1 had executed ${before["goma-test-1"]} actions, worker 2 ${before["goma-test-2"]}; build exit ${r.code}`);
    assert.ok(killedAt > 0, "the build ended before worker 2 was killed");
    assertJobPassed(r);

    // 1. Both workers executed goma's actions: their own counters, and the ActionResults of the actions
    //    seen running (except those the backend lost) name a worker seen running them.
    const serverLog = readFileSync(join(job.state, "logs", "server.log"), "utf8");
    const lostLines = serverLog.split("\n").filter((l) => l.includes("the backend lost the execution of action"));
    const lost = lostLines.map((l) => /action ([0-9a-f]{64}\/\d+) /.exec(l)?.[1]).filter((d): d is string => !!d);
    assert.ok(before["goma-test-1"] > 0 && before["goma-test-2"] > 0, JSON.stringify(before));
    console.log(`worker 1 executed ${await executedBy(bb, "worker")} actions in all; ${s.seen.size} actions seen running through BuildQueueState`);
    const byWorker: Record<string, number> = {};
    for (const [digest, workers] of s.seen) {
      if (lost.includes(digest)) continue;
      const produced = await resultWorker(bb, digest);
      assert.ok(produced, `no ActionResult for ${digest}`);
      const by = [...workers].find((w) => produced.includes(`"worker":"${w}"`));
      assert.ok(by, `${digest} was seen running on ${[...workers].join(", ")}, its ActionResult names ${produced}`);
      byWorker[by] = (byWorker[by] ?? 0) + 1;
    }
    console.log(`ActionResults checked per worker: ${JSON.stringify(byWorker)}`);
    assert.ok(byWorker["goma-test-1"] && byWorker["goma-test-2"], `ActionResults of both workers: ${JSON.stringify(byWorker)}`);

    // 2. What happened to the actions worker 2 was running when it died: Buildbarn completed each with
    //    UNAVAILABLE "Worker … disappeared …" (no requeue), goma server executed it again (its log), and
    //    worker 1's ActionResult is the one in the cache. No local fallback (assertJobPassed).
    for (const l of lostLines) console.log(`  server log: ${l}`);
    assert.ok(lost.length > 0, `goma server logged no lost execution after worker 2 was killed:\n${serverLog.slice(-4000)}`);
    for (const l of lostLines) assert.match(l, /\(Worker \{[^}]*"worker":"goma-test-2"[^}]*\} disappeared while task was executing\): executing it again \(retry 1\)/);
    for (const d of lost) {
      const produced = await resultWorker(bb, d);
      console.log(`  ${d}: seen running on ${[...(s.seen.get(d) ?? [])].join(", ")}; ActionResult from ${produced}`);
      assert.ok(s.seen.get(d)?.has("goma-test-2"), `the lost action ${d} was never seen on worker 2`);
      assert.ok(produced?.includes('"worker":"goma-test-1"'), `${d} was executed again on worker 1, but its ActionResult names ${produced}`);
    }
  });
});
