/**
 * `goma doctor` against a real single-host Buildbarn in cache-only form (bb_storage alone, from
 * scripts/buildbarn/install.sh --storage-only): capabilities from the real Buildbarn pass, and the tiny
 * action is named as "no Execution service". The tests that need a Buildbarn worker are in
 * buildbarn-workers.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, doctor } from "./helpers.ts";
import { buildbarn, install, serverFor } from "./buildbarn-fixtures.ts";

const storageInstall = install(true);

test("cache-only Buildbarn: real capabilities pass, the tiny action names the missing Execution service", async () => {
  const addr = await buildbarn(storageInstall.bin!, ["--storage-only"]);
  const s = await serverFor(addr);
  const d = await doctor(s.env, ["--no-compile"]);
  // On a failure the message carries the whole report and the server's log: CI shows only the end of a run.
  const why = () => `${JSON.stringify(d.report.checks, null, 1)}\nserver log:\n${s.serverLog()}`;
  assert.equal(check(d, "backend.reachable").status, "pass", why());
  assert.equal(check(d, "backend.api").status, "pass", why());
  assert.equal(check(d, "backend.digest").status, "pass", why());
  const a = check(d, "backend.action");
  assert.equal(a.status, "fail", why());
  assert.match(a.fix!, /cache-only REAPI service \(no Execution service/, why());
});

