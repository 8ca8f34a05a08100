/**
 * goma against a real Buildbarn on this host (scripts/buildbarn/: bb_storage, bb_scheduler, bb_worker,
 * bb_runner built from the Go module proxy). The first run installs Buildbarn, which takes minutes.
 *
 * - With bb_storage (always): the REAPI client against Buildbarn's CAS, action cache and ByteStream for the
 *   empty and a named instance; and, through Buildbarn's real frontend, the platform-mismatch error path.
 * - With the whole of Buildbarn: the main job (zlib, lua5.4) byte-identical to local builds and a second clean
 *   build served from Buildbarn's action cache; the named instance `hardlinking` with a worker platform that
 *   has a container-image; a platform no worker offers; Buildbarn stopped in the middle of a build and back.
 *   When the module proxy does not serve bb-remote-execution, these tests are skipped and say why.
 *
 * The tests share one Buildbarn install; each starts its own Buildbarn in a temp dir on free ports. On failure
 * a test's message carries the Buildbarn logs.
 */
import { test, after } from "node:test";
import { beforeAll } from "bun:test"; // node:test's before() timeout is not honoured by bun: the install takes minutes
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, gomaBin, run, type GomaStack, type TaskInfo } from "../e2e/harness.ts";
import {
  installBuildbarn, startBuildbarn, startNoWorkerScheduler, freePortOffset, type Buildbarn, type BuildbarnInstall,
} from "./buildbarn.ts";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { digestOf } from "../../lib/digest/digest.ts";
import { R } from "../../lib/reapi/proto.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MINUTE = 60_000;
let inst: BuildbarnInstall;
let installError: unknown;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  try {
    inst = await installBuildbarn();
    console.log(`Buildbarn install: ${inst.full ? "complete" : inst.bin ? "bb_storage only" : "nothing"} ` +
      `in ${inst.seconds} s${inst.missing ? ` (${inst.missing})` : ""}`);
  } catch (e) {
    installError = e;
  }
}, 60 * MINUTE);

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Fails when the install failed; skips (saying why) when the part of Buildbarn the test needs is missing. */
function need(t: { skip(msg?: string): void }, what: "storage" | "full"): boolean {
  if (installError) throw installError;
  const ok = what === "storage" ? !!inst?.bin : !!inst?.full;
  if (!ok) {
    const why = `needs ${what === "full" ? "bb_scheduler, bb_worker and bb_runner" : "bb_storage"}: ${inst?.missing ?? "not installed"}`;
    console.log(`skipped: ${why}`);
    t.skip(why);
  }
  return ok;
}

/** Runs `body` with a Buildbarn started for it; stops it afterwards, and adds its logs to a failure. */
async function withBuildbarn(opts: Parameters<typeof startBuildbarn>[1], body: (bb: Buildbarn) => Promise<void>): Promise<void> {
  const bb = await startBuildbarn(inst, opts);
  cleanups.push(() => bb.stop());
  try {
    await body(bb);
  } catch (e) {
    const err = e as Error;
    err.message += `\n${await bb.status()}\n${bb.logs()}`;
    throw err;
  } finally {
    await bb.stop();
  }
}

/** Runs `body` with a goma server + proxy; adds the server's log to a failure. */
async function withGoma(serverArgs: string[], body: (stack: GomaStack) => Promise<void>): Promise<void> {
  const stack = await startStack({ serverArgs });
  cleanups.push(() => stack.stop());
  try {
    await body(stack);
  } catch (e) {
    const err = e as Error;
    err.message += `\n--- goma server log ---\n${stack.serverLog().slice(-6000)}`;
    throw err;
  } finally {
    await stack.stop();
  }
}

/**
 * A small C project: `n` sources including a header from inc/, and a Makefile building every object in
 * order (serially); with `make STOP_AFTER=k HOOK=cmd`, `cmd` runs once the first k objects are built.
 */
function makeProject(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), "goma-bb-proj-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "inc"));
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "inc", "util.h"), "#pragma once\n#include <stddef.h>\n#include <string.h>\nstatic inline size_t twice(size_t x) { return 2 * x; }\n");
  const objs: string[] = [];
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, "src", `f${i}.c`),
      `#include <stdio.h>\n#include "util.h"\nint f${i}(const char *s) { printf("%s %d\\n", __FILE__, ${i}); return (int)twice(strlen(s)) + ${i}; }\n`);
    objs.push(`src/f${i}.o`);
  }
  writeFileSync(join(dir, "Makefile"), [
    "CFLAGS = -g -O2 -Iinc",
    `OBJS = ${objs.join(" ")}`,
    "STOP_AFTER = 0",
    "HOOK = true",
    "all: $(wordlist 1,$(STOP_AFTER),$(OBJS)) hook $(OBJS)",
    ".PHONY: all hook clean",
    "hook: $(wordlist 1,$(STOP_AFTER),$(OBJS))",
    "\t$(HOOK)",
    "src/%.o: src/%.c inc/util.h",
    "\t$(CC) $(CFLAGS) -c -o $@ $<",
    "clean:",
    "\trm -f src/*.o",
    "",
  ].join("\n"));
  return dir;
}

/** Compiles `src` of `proj` through goma and locally; asserts the compile went `expect` and the objects match. */
async function compileBoth(stack: GomaStack, proj: string, src: string, expect: "remote" | "cacheHit" | "localFallback"): Promise<TaskInfo> {
  const obj = src.replace(/\.c$/, ".o");
  const args = ["gcc", "-g", "-O2", "-Iinc", "-c", src, "-o", obj];
  const before = await stack.stats();
  const r = await run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  const after = await stack.stats();
  const task = (await stack.tasks()).filter((t) => t.argv.includes(obj)).sort((a, b) => b.id - a.id)[0];
  assert.ok(task, `no task for ${obj} on the proxy's dashboard`);
  assert.equal(after[expect]! - before[expect]!, 1, `the compile of ${src} went ${task.outcome} (${task.reason ?? "no reason"}), not ${expect}`);
  const viaGoma = readFileSync(join(proj, obj));
  rmSync(join(proj, obj));
  const l = await run(args, { cwd: proj });
  assert.equal(l.code, 0, l.stderr);
  assert.ok(viaGoma.equals(readFileSync(join(proj, obj))), `${obj} differs between the goma compile and a local one`);
  return task;
}

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
    assert.ok((await stack.dashboard()).includes(`platform ${platform}`), "the reason is on the dashboard page");
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

test("main job through Buildbarn: zlib and lua5.4 objects byte-identical to local builds; a second clean build comes from Buildbarn's action cache", { timeout: 45 * MINUTE }, async (t) => {
  if (!need(t, "full")) return;
  const state = mkdtempSync(join(tmpdir(), "goma-bb-main-job-"));
  cleanups.push(async () => rmSync(state, { recursive: true, force: true }));
  const offset = await freePortOffset();
  const r = await run(["bash", join(REPO, "scripts", "main-job.sh"), "--no-setup", "--backend", "buildbarn", "--twice",
    "--state-dir", state, "zlib", "lua5.4"], { env: { BB_PORT_OFFSET: String(offset) } });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.code, 0, `main-job.sh --backend buildbarn failed:\n${out.slice(-12000)}`);
  assert.match(out, /^zlib +34\/34 /m);
  assert.match(out, /^lua5\.4 +(\d+)\/\1 /m);
  assert.match(out, /^zlib: second goma build: (\d+)\/\1 make-phase compiles from the action cache/m);
  assert.match(out, /^lua5\.4: second goma build: (\d+)\/\1 make-phase compiles from the action cache/m);
});

test("named instance 'hardlinking' with a container-image platform: compiles run on Buildbarn's worker; the empty instance name finds no worker there", { timeout: 15 * MINUTE }, async (t) => {
  if (!need(t, "full")) return;
  const proj = makeProject(2);
  await withBuildbarn({ instancePrefix: "hardlinking", platform: ["container-image=docker://goma-test", "OSFamily=linux"], noWorkersTimeout: "1s" }, async (bb) => {
    await withGoma(["--remoteexec-addr", bb.address, "--remote-instance-name", "hardlinking",
      "--platform-container-image", "docker://goma-test"], async (stack) => {
      await compileBoth(stack, proj, "src/f0.c", "remote");
      await compileBoth(stack, proj, "src/f0.c", "cacheHit");
    });
    await withGoma(["--remoteexec-addr", bb.address, "--remote-instance-name", "",
      "--platform-container-image", "docker://goma-test"], async (stack) => {
      const task = await compileBoth(stack, proj, "src/f1.c", "localFallback");
      assert.ok(task.reason?.includes('instance name ""'), task.reason);
    });
  });
});

test("Buildbarn stopped in the middle of a build: the build succeeds with local fallbacks whose reasons are recorded; once it is back, compiles go remote again without restarting goma", { timeout: 20 * MINUTE }, async (t) => {
  if (!need(t, "full")) return;
  const proj = makeProject(40);
  await withBuildbarn({}, async (bb) => {
    await withGoma(["--remoteexec-addr", bb.address], async (stack) => {
      // A serial make that stops all of Buildbarn (scripts/buildbarn/stop.sh) once 8 of its 40 objects are built.
      const r = await run(["make", `CC=${gomaBin()} cc gcc`, "STOP_AFTER=8",
        `HOOK=BB_ROOT=${bb.root} bash ${join(REPO, "scripts", "buildbarn", "stop.sh")}`], { cwd: proj, env: stack.env });
      assert.equal(r.code, 0, `make failed while Buildbarn was down:\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /buildbarn: stopped storage/, "the build stopped Buildbarn half-way");
      for (let i = 0; i < 40; i++) assert.ok(existsSync(join(proj, "src", `f${i}.o`)), `src/f${i}.o was not built`);
      const after = await stack.stats();
      assert.equal(after.remote, 8, `the 8 compiles before the stop ran on Buildbarn (stats ${JSON.stringify(after)})`);
      assert.equal(after.localFallback, 32, `the 32 compiles after it fell back (stats ${JSON.stringify(after)})`);
      assert.equal(after.failed, 0);
      const fallbacks = (await stack.tasks()).filter((x) => x.outcome === "localFallback");
      for (const f of fallbacks) assert.match(f.reason ?? "", new RegExp(`on REAPI ${bb.address.replace(/\./g, "\\.")}`), f.reason);

      // Back: the same goma server and proxy compile remotely again. The client reconnects within its 5 s
      // backoff cap; until then a compile may still fall back, so try a bounded number of compiles.
      await bb.start();
      let outcome = "";
      for (let i = 0; i < 20 && outcome !== "remote"; i++) {
        const src = `src/again${i}.c`;
        writeFileSync(join(proj, src), `#include "util.h"\nint again${i}(void) { return (int)twice(${i}); }\n`);
        const before = await stack.stats();
        const c = await run([gomaBin(), "cc", "gcc", "-g", "-Iinc", "-c", src, "-o", src.replace(/c$/, "o")], { cwd: proj, env: stack.env });
        assert.equal(c.code, 0, c.stderr);
        outcome = (await stack.stats()).remote! > before.remote! ? "remote" : "fallback";
      }
      assert.equal(outcome, "remote", "no compile went remote after Buildbarn came back");
      await compileBoth(stack, proj, "src/f7.c", "remote");
    });
  });
});
