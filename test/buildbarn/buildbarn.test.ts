/**
 * goma against a real Buildbarn on this host: bb_storage built from the Go module proxy
 * (scripts/buildbarn/install.sh). The REAPI client against Buildbarn's CAS, action cache and ByteStream for
 * the empty and a named instance; and, through Buildbarn's real frontend, the platform-mismatch error path.
 * The tests that need Buildbarn's execution side (bb_scheduler, bb_worker, bb_runner) are in
 * execution.test.ts and workers.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type GomaStack } from "../e2e/harness.ts";
import { startNoWorkerScheduler } from "./buildbarn.ts";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { digestOf } from "../../lib/digest/digest.ts";
import { R } from "../../lib/reapi/proto.ts";
import { MINUTE, inst, need, withBuildbarn, withGoma, makeProject, compileBoth } from "./fixtures.ts";

test("bb_storage: CAS batches up to our own cap, ByteStream beyond it, and the action cache, for the empty and a named instance", { timeout: 10 * MINUTE }, async (t) => {
  if (!need(t, "storage")) return;
  await withBuildbarn({ storageOnly: true }, async (bb) => {
    const acHits: Record<string, boolean> = {};
    const salt = String(Date.now());
    const action = R.Action.encode({
      commandDigest: digestOf(R.Command.encode({ arguments: ["/bin/true", salt] }).finish()),
      inputRootDigest: digestOf(new Uint8Array()),
      platform: { properties: [{ name: "OSFamily", value: "linux" }] },
    }).finish();
    const actionDigest = digestOf(action);
    for (const instanceName of ["", "hardlinking"]) {
      const c = new ReapiClient({ target: bb.address, instanceName, insecure: true });
      try {
        const caps = await c.getCapabilities();
        assert.equal(Number(caps.cacheCapabilities?.maxBatchTotalSizeBytes ?? 0), 0, "Buildbarn declares no batch limit");
        const small = new TextEncoder().encode(`small blob of ${JSON.stringify(instanceName)} ${salt}`);
        // 3 MiB: above our 2 MiB batch cap, so it goes by ByteStream.
        const big = new Uint8Array(3 * 1024 * 1024 + instanceName.length).map((_, i) => (i * 31 + salt.length) & 0xff);
        const blobs = [small, big].map((data) => ({ digest: digestOf(data), data }));
        assert.equal((await c.findMissingBlobs(blobs.map((b) => b.digest))).length, 2);
        await c.uploadBlobs(blobs);
        assert.deepEqual(await c.findMissingBlobs(blobs.map((b) => b.digest)), []);
        await c.uploadBlobs(blobs); // already present: the ByteStream write may end early, still a success
        for (const b of blobs) assert.ok(Buffer.from(await c.readBlob(b.digest)).equals(Buffer.from(b.data)));
        // The action cache is per instance name: the entry written for "" is not one for "hardlinking".
        acHits[instanceName] = (await c.getActionResult(actionDigest)) !== undefined;
        if (instanceName === "") {
          await c.uploadBlobs([{ digest: actionDigest, data: action }]);
          await c.updateActionResult(actionDigest, { exitCode: 0, stdoutDigest: blobs[0]!.digest });
          const hit = await c.getActionResult(actionDigest, { inlineStdout: true });
          assert.equal(hit?.stdoutDigest?.hash, blobs[0]!.digest.hash);
          assert.equal(hit?.stdoutRaw?.byteLength ?? 0, 0, "Buildbarn does not inline stdout: goma fetches it by digest");
        }
      } finally {
        c.close();
      }
    }
    assert.deepEqual(acHits, { "": false, hardlinking: false });
  });
});

test("a platform no worker offers: the compile falls back locally, and the recorded reason names the instance name and the platform sent", { timeout: 10 * MINUTE }, async (t) => {
  if (!need(t, "storage")) return;
  const proj = makeProject(1);
  const check = async (stack: GomaStack, instance: string, platform: string) => {
    const task = await compileBoth(stack, proj, "src/f0.c", "localFallback");
    console.log(`recorded reason: ${task.reason}`);
    assert.match(task.reason ?? "", /no worker of REAPI 127\.0\.0\.1:\d+ matches/);
    assert.ok(task.reason!.includes(`instance name ${JSON.stringify(instance)}`), task.reason);
    assert.ok(task.reason!.includes(`platform ${platform}`), task.reason);
    assert.match(task.reason!, /No workers exist for instance name prefix/); // Buildbarn's own words follow
    // The dashboard page renders its task list from /api/tasks (test/e2e/dashboard-browser.test.ts reads the DOM).
    assert.ok((await stack.tasks()).some((x) => x.reason?.includes(`platform ${platform}`)), "the reason is in the dashboard's task list");
  };
  if (inst.full) {
    // The real scheduler: its worker offers OSFamily=linux + container-image, on instance name prefix hardlinking.
    await withBuildbarn({ instancePrefix: "hardlinking", platform: ["OSFamily=linux", "container-image=docker://goma-test"], noWorkersTimeout: "1s" }, async (bb) => {
      await withGoma(["--remoteexec-addr", bb.address, "--remote-instance-name", "hardlinking"], (stack) =>
        check(stack, "hardlinking", "OSFamily=linux"));
      await withGoma(["--remoteexec-addr", bb.address, "--remote-instance-name", "hardlinking",
        "--platform-property", "OSFamily=linux", "--platform-property", "ISA=x86-64",
        "--platform-container-image", "docker://goma-test"], (stack) =>
        check(stack, "hardlinking", "ISA=x86-64,OSFamily=linux,container-image=docker://goma-test"));
    });
    return;
  }
  // No bb_scheduler here: the real bb_storage frontend forwards Execute to a stand-in that answers as
  // bb_scheduler does when no worker matches (see startNoWorkerScheduler).
  await withBuildbarn({ components: ["storage"] }, async (bb) => {
    const sched = await startNoWorkerScheduler(bb.schedulerPort, bb.address);
    try {
      await withGoma(["--remoteexec-addr", bb.address, "--remote-instance-name", "hardlinking",
        "--platform-property", "OSFamily=linux", "--platform-property", "ISA=x86-64"], (stack) =>
        check(stack, "hardlinking", "ISA=x86-64,OSFamily=linux"));
      assert.deepEqual(sched.seen.at(-1), { instanceName: "hardlinking", platform: ["ISA=x86-64", "OSFamily=linux"] },
        "Action.platform arrives sorted through the frontend");
    } finally {
      await sched.close();
    }
  });
});

