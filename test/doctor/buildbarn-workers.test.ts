/**
 * `goma doctor` against a complete single-host Buildbarn (scripts/buildbarn/*.sh), each in its own BB_ROOT
 * and port offset:
 * - a worker registered under the instance name prefix "hardlinking" while goma server sends "": the
 *   worker is named as missing for that instance name, with --remote-instance-name in the fix;
 * - a worker offering OSFamily=Linux while goma server sends OSFamily=linux: the platform that works is
 *   found and named as the flag to give;
 * - two workers under "hardlinking" with a container-image platform: the scheduler's queue and both
 *   workers listed (BuildQueueState), matched against what goma server sends, from the server's own
 *   --buildbarn-scheduler and from goma doctor's; a server sending "" is told the flags of the queue.
 * Part of `npm test`; they need bb_scheduler, bb_worker and bb_runner (scripts/buildbarn/install.sh: from the
 * module proxy, or from BB_RE_SOURCE) and fail (never skip) where those cannot be installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, doctor } from "./helpers.ts";
import { BuildQueueStateClient } from "../../lib/reapi/build-queue-state.ts";
import { buildbarn, install, schedulerOf, serverFor } from "./buildbarn-fixtures.ts";

const fullInstall = install(false);

test("a worker under instance name prefix 'hardlinking' and goma server sending '': named, with --remote-instance-name", async () => {
  const addr = await buildbarn(fullInstall.bin!, ["--instance-prefix", "hardlinking", "--no-workers-timeout", "1s"]);
  const wrong = await serverFor(addr);
  const d = await doctor(wrong.env, ["--no-compile"]);
  const w = check(d, "backend.worker");
  assert.equal(w.status, "fail");
  assert.match(w.evidence, /No workers exist for instance name prefix ""/);
  assert.match(w.fix!, /instanceNamePrefix match --remote-instance-name/);
  const right = await serverFor(addr, ["--remote-instance-name", "hardlinking"]);
  const ok = await doctor(right.env, ["--no-compile"]);
  assert.equal(check(ok, "backend.action").status, "pass", JSON.stringify(ok.report.checks.filter((c) => c.id.startsWith("backend"))));
  assert.match(check(ok, "backend.instance").evidence, /sent as "hardlinking"/);
});

test("a worker offering OSFamily=Linux while goma server sends linux: the working platform is named as the flag", async () => {
  const addr = await buildbarn(fullInstall.bin!, ["--platform", "OSFamily=Linux", "--no-workers-timeout", "1s"]);
  const s = await serverFor(addr);
  const d = await doctor(s.env, ["--no-compile"]);
  const p = check(d, "backend.platform");
  assert.equal(p.status, "fail");
  assert.match(p.evidence, /but one for OSFamily=Linux instead of linux/);
  assert.match(p.fix!, /--platform-property OSFamily=Linux/);
});


test("two workers under 'hardlinking': goma doctor lists the scheduler's queue and both workers next to what goma server sends", async () => {
  const image = "docker://goma-test@sha256:0123";
  const addr = await buildbarn(fullInstall.bin!, ["--workers", "2", "--instance-prefix", "hardlinking", "--platform", "OSFamily=linux",
    "--platform", `container-image=${image}`, "--no-workers-timeout", "1s"]);
  const sched = schedulerOf(addr);
  const queue = `"hardlinking" {OSFamily=linux, container-image=${image}}`;
  // start.sh returns once every process is healthy and the scheduler counts every worker thread.
  const bqs = new BuildQueueStateClient({ target: sched });
  try {
    const threads = (await bqs.queues()).reduce((n, q) => n + q.workers, 0);
    assert.equal(threads, 4, "the scheduler shows both workers' 2 threads each once start.sh is done");
  } finally {
    bqs.close();
  }

  // The server knows the scheduler (goma server --buildbarn-scheduler) and sends what the queue takes.
  const right = await serverFor(addr, ["--remote-instance-name", "hardlinking", "--platform-container-image", image, "--buildbarn-scheduler", sched]);
  const ok = await doctor(right.env, ["--no-compile"]);
  const offers = check(ok, "backend.scheduler");
  assert.equal(offers.status, "pass", offers.evidence);
  assert.ok(offers.evidence.includes(`${sched} offers 1 platform queue(s): ${queue}: 4 worker thread(s) on 2 worker(s) (goma-test-1, goma-test-2)`), offers.evidence);
  const match = check(ok, "backend.scheduler-match");
  assert.equal(match.status, "pass", match.evidence);
  assert.ok(match.evidence.includes(`goma server sends instance name "hardlinking" and platform {OSFamily=linux, container-image=${image}}: queue ${queue} takes it`), match.evidence);
  assert.deepEqual(match.data?.workerNames, ["goma-test-1", "goma-test-2"]);
  assert.equal(check(ok, "backend.action").status, "pass");

  // A server sending "" and no image; the scheduler given to goma doctor instead: the queue's flags are named.
  const wrong = await serverFor(addr);
  const bad = await doctor(wrong.env, ["--no-compile", "--buildbarn-scheduler", sched]);
  assert.equal(check(bad, "backend.scheduler").status, "pass");
  const miss = check(bad, "backend.scheduler-match");
  assert.equal(miss.status, "fail", miss.evidence);
  assert.ok(miss.evidence.includes(`goma server sends instance name "" and platform {OSFamily=linux}: no platform queue takes it (the scheduler offers: ${queue})`), miss.evidence);
  assert.ok(miss.fix!.includes(`--remote-instance-name "hardlinking" --platform-property OSFamily=linux --platform-property container-image=${image}`), miss.fix);
  assert.equal(bad.code, 1);

  // Not a BuildQueueState service (the frontend): one clear failure.
  const notIt = await doctor(wrong.env, ["--no-compile", "--buildbarn-scheduler", addr]);
  const f = check(notIt, "backend.scheduler");
  assert.equal(f.status, "fail");
  assert.match(f.fix!, /not bb_scheduler's BuildQueueState listener/);
});
