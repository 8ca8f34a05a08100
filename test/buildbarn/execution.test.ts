/**
 * goma compiling through a complete single-host Buildbarn (bb_storage, bb_scheduler, bb_worker, bb_runner
 * from the Go module proxy or BB_RE_SOURCE): the main job byte-identical to local builds with a second clean build from
 * Buildbarn's action cache; the named instance `hardlinking`; Buildbarn stopped in the middle of a build.
 * Part of `npm test`: where bb-remote-execution can be installed neither from the module proxy nor from
 * BB_RE_SOURCE (scripts/buildbarn/install.sh) these tests fail and say so; they never skip.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gomaBin, run } from "../e2e/harness.ts";
import { freePortOffset } from "./buildbarn.ts";
import { REPO, MINUTE, need, withBuildbarn, withGoma, makeProject, compileBoth } from "./fixtures.ts";
import { tempDir } from "./project.ts";

test("main job through Buildbarn: zlib and lua5.4 objects byte-identical to local builds; a second clean build comes from Buildbarn's action cache", { timeout: 45 * MINUTE }, async (t) => {
  if (!need(t, "full")) return;
  const state = tempDir("goma-bb-main-job-");
  const offset = await freePortOffset();
  const r = await run(["bash", join(REPO, "scripts", "main-job.sh"), "--no-setup", "--backend", "buildbarn", "--twice",
    "--state-dir", state, "zlib", "lua5.4"], { env: { BB_PORT_OFFSET: String(offset) } });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.code, 0, `main-job.sh --backend buildbarn failed:\n${out.slice(-12000)}`);
  assert.match(out, /^zlib +34\/34 /m);
  assert.match(out, /^lua5\.4 +(\d+)\/\1 /m);
  assert.match(out, /^sources built \(Debian source packages\): zlib 1:[\w.+~-]+, lua5\.4 [\w.+~:-]+$/m, "the main job names the versions it built");
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

      // Back: the same goma server and proxy compile remotely again. The REAPI client reconnects within its
      // 5 s backoff cap and the proxy's breaker (lib/proxy/breaker.ts) tries remote again at the end of its
      // cool-down (at most 60 s); until then compiles fall back, so keep compiling, bounded in count and time.
      await bb.start();
      let outcome = "";
      const giveUpAt = Date.now() + 90_000;
      for (let i = 0; i < 5000 && outcome !== "remote" && Date.now() < giveUpAt; i++) {
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

