/**
 * `goma doctor` against a complete single-host Buildbarn (scripts/buildbarn/*.sh), each in its own BB_ROOT
 * and port offset:
 * - a worker registered under the instance name prefix "hardlinking" while goma server sends "": the
 *   worker is named as missing for that instance name, with --remote-instance-name in the fix;
 * - a worker offering OSFamily=Linux while goma server sends OSFamily=linux: the platform that works is
 *   found and named as the flag to give.
 * Run by `npm run test:buildbarn-exec`; they need bb_scheduler, bb_worker and bb_runner and fail (never
 * skip) where those cannot be installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, doctor } from "./helpers.ts";
import { buildbarn, install, serverFor } from "./buildbarn-fixtures.ts";

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

