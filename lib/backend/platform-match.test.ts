/**
 * Platform matching by Buildbarn's rule (reference/reapi-buildbarn.md §3): the action's platform must
 * equal the worker's exactly; properties sorted, no duplicates; only Action.platform counts. Through a
 * real Execute on the embedded backend too: what goma server sends matches, a subset does not.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ReapiClient } from "../reapi/client.ts";
import { Code, GomaError } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { checkPlatform, requestedPlatform } from "./platform-match.ts";
import { REAPI_SEMANTICS_TEST_OPTIONS, uploadTestAction } from "./test-actions.ts";

const props = (p: [string, string][]) => p.map(([name, value]) => ({ name, value }));
const isCode = (code: Code, re: RegExp) => (e: unknown) => e instanceof GomaError && e.code === code && re.test(e.rawMessage);
const IMAGE = "docker://ghcr.io/catthehacker/ubuntu:act-22.04@sha256:dd76";

describe("checkPlatform: exact equality, as in Buildbarn", () => {
  const worker = { OSFamily: "linux", "container-image": IMAGE };
  test("the same properties match", () => {
    checkPlatform("", props([["OSFamily", "linux"], ["container-image", IMAGE]]), worker);
    checkPlatform("", props([["OSFamily", "linux"]]), { OSFamily: "linux" });
    checkPlatform("", [], {});
  });
  test("a subset, a superset, another value or another case matches no worker", () => {
    const cases: [string, string][][] = [
      [["OSFamily", "linux"]],
      [],
      [["OSFamily", "linux"], ["container-image", IMAGE], ["zz", "1"]],
      [["OSFamily", "Linux"], ["container-image", IMAGE]],
      [["OSFamily", "linux"], ["container-image", "docker://other"]],
    ];
    for (const c of cases) {
      assert.throws(() => checkPlatform("hardlinking", props(c), worker),
        isCode(Code.FailedPrecondition, /^No workers exist for instance name "hardlinking" platform \{"properties":.*; this worker offers \{"properties":\[\{"name":"OSFamily","value":"linux"\},\{"name":"container-image"/), JSON.stringify(c));
    }
    assert.throws(() => checkPlatform("", [], { OSFamily: "linux" }), isCode(Code.FailedPrecondition, /platform \{"properties":\[\]\}/));
  });
  test("unsorted or duplicate properties are INVALID_ARGUMENT", () => {
    assert.throws(() => checkPlatform("", props([["container-image", IMAGE], ["OSFamily", "linux"]]), worker),
      isCode(Code.InvalidArgument, /^Platform properties are not lexicographically sorted, as property \{"name":"OSFamily","value":"linux"\} should have been placed before property \{"name":"container-image"/));
    assert.throws(() => checkPlatform("", props([["OSFamily", "linux"], ["OSFamily", "linux"]]), { OSFamily: "linux" }),
      isCode(Code.InvalidArgument, /^Platform properties contain a duplicate/));
  });
  test("only Action.platform counts; Command.platform is ignored", () => {
    assert.deepEqual(requestedPlatform({}, { platform: { properties: props([["OSFamily", "linux"]]) } }), []);
    assert.deepEqual(requestedPlatform({ platform: { properties: props([["ISA", "x86-64"]]) } }, { platform: { properties: props([["OSFamily", "linux"]]) } }),
      props([["ISA", "x86-64"]]));
  });
});

describe("Execute on an embedded worker offering OSFamily=linux + container-image", () => {
  let dataDir: string;
  let backend: EmbeddedBackend;
  let client: ReapiClient;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "goma-platform-"));
    backend = await startEmbeddedBackend({ dataDir, ...REAPI_SEMANTICS_TEST_OPTIONS, platform: { OSFamily: "linux", "container-image": IMAGE } });
    client = new ReapiClient({ target: backend.address, instanceName: "" });
  });
  after(async () => {
    client.close();
    await backend.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("the exact platform runs; OSFamily alone (a subset) fails with FAILED_PRECONDITION", async () => {
    const ok = await uploadTestAction(client, { argv: ["/bin/true"], platform: { OSFamily: "linux", "container-image": IMAGE } });
    assert.equal((await client.execute(ok.actionDigest)).result?.exitCode, 0);
    const subset = await uploadTestAction(client, { argv: ["/bin/true"], platform: { OSFamily: "linux" } });
    await assert.rejects(client.execute(subset.actionDigest), isCode(Code.FailedPrecondition, /^No workers exist for instance name "" platform \{"properties":\[\{"name":"OSFamily","value":"linux"\}\]\}/));
  });
});
