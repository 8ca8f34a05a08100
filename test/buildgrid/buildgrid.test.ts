/**
 * goma against a real BuildGrid (PyPI `buildgrid`, in a virtualenv under the cache: scripts/buildgrid/
 * install.sh) serving CAS, ByteStream and ActionCache on 127.0.0.1 for the empty and a named instance:
 * - goma's REAPI client round-trips blobs (batches and ByteStream beyond its cap) and action results;
 * - goma server with --remoteexec-addr at it passes the doctor's capability checks and falls back locally,
 *   with the reason recorded: BuildGrid has no worker here (its Python bots were removed; buildbox-worker
 *   is on no registry this machine reaches), so no Execution service is configured. GOMA_STORE_ONLY does
 *   not change that: it only skips the lookup, the result still has to come from Execute, so nothing is
 *   stored in BuildGrid;
 * - goma server with --remote-cache-addr at it (the embedded backend executes, BuildGrid is its CAS and
 *   action cache of record: lib/blobstore/remote-cas.ts) stores a GOMA_STORE_ONLY compile there, and a
 *   fresh server and proxy get it back as an action-cache hit, byte-identical to a local compile.
 * Which version runs depends on the Pythons found: 0.9.1 needs Python >= 3.13 (install.sh looks on PATH
 * and under pyenv's versions), else 0.4.4, the newest release for Debian 12's Python 3.11.
 */
import { test, after } from "node:test";
import { beforeAll } from "bun:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { digestOf } from "../../lib/digest/digest.ts";
import { R } from "../../lib/reapi/proto.ts";
import { startStack } from "../e2e/harness.ts";
import { check, doctor } from "../doctor/helpers.ts";
import { compileBoth, makeProject } from "../buildbarn/project.ts";
import { gomaBin, run, type GomaStack } from "../e2e/harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MINUTE = 60_000;
let bgd = "";
let installError = "";

beforeAll(() => {
  const r = spawnSync("bash", [join(REPO, "scripts", "buildgrid", "install.sh")], { encoding: "utf8", timeout: 20 * MINUTE });
  if (r.status === 0) bgd = r.stdout.trim();
  else installError = `scripts/buildgrid/install.sh exited ${r.status}:\n${r.stderr}`;
  console.log(r.stderr.trim().split("\n").at(-1));
}, 25 * MINUTE);

const running: { proc: ChildProcess; root: string }[] = [];
after(() => {
  for (const r of running) {
    r.proc.kill("SIGKILL");
    rmSync(r.root, { recursive: true, force: true });
  }
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

/**
 * Resolves once a gRPC channel to 127.0.0.1:`port` is READY (grpc-js moves through its connectivity
 * states itself, reconnecting with its own backoff: no poll loop here), or rejects at `deadlineMs`.
 */
async function waitForListener(port: number, deadlineMs: number): Promise<void> {
  const grpc = await import("@grpc/grpc-js");
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((res, rej) => client.waitForReady(deadlineMs, (err) => (err ? rej(err) : res())));
  } finally {
    client.close();
  }
}

/** Starts `bgd server` with CAS, ByteStream and ActionCache for instances "" and "hardlinking"; resolves once it accepts connections. */
async function startBuildGrid(): Promise<{ address: string; log: () => string }> {
  if (!bgd) throw new Error(installError);
  const root = mkdtempSync(join(tmpdir(), "goma-bgd-"));
  mkdirSync(join(root, "cas"));
  const port = await freePort();
  const instance = (name: string) => `  - name: '${name}'\n    services:\n      - !action-cache\n        cache: *ac\n      - !cas\n        storage: *cas\n      - !bytestream\n        storage: *cas\n`;
  writeFileSync(join(root, "bgd.yml"), [
    "server:", "  - !channel", `    address: "127.0.0.1:${port}"`, "    insecure-mode: true",
    "authorization:", "  method: none", "monitoring:", "  enabled: false",
    "storages:", "  - !disk-storage &cas", `    path: ${join(root, "cas")}`,
    "caches:", "  - !lru-action-cache &ac", "    storage: *cas", "    max-cached-refs: 1024", "    allow-updates: true", "    cache-failed-actions: false",
    "instances:", instance("") + instance("hardlinking"),
  ].join("\n"));
  const logFile = join(root, "bgd.log");
  const out = openSync(logFile, "a");
  const proc = spawn(bgd, ["server", "start", join(root, "bgd.yml")], { cwd: root, stdio: ["ignore", out, out] });
  running.push({ proc, root });
  const log = () => readFileSync(logFile, "utf8");
  // bgd exiting before it listens ends the wait; the listener goes once it listens (the test's own stop
  // later removes the log with the rest of the root).
  let onExit = () => {};
  const exit = new Promise<"exited">((res) => { onExit = () => res("exited"); proc.once("exit", onExit); });
  const ready = waitForListener(port, Date.now() + 2 * MINUTE).then(() => "ready" as const, (e: Error) => e);
  const first = await Promise.race([ready, exit]);
  proc.off("exit", onExit);
  if (first === "exited") throw new Error(`bgd exited during start-up:\n${log()}`);
  if (first instanceof Error) throw new Error(`bgd did not listen on 127.0.0.1:${port} within 2 minutes (${first.message}):\n${log()}`);
  return { address: `127.0.0.1:${port}`, log };
}

test("BuildGrid: goma's REAPI client against its CAS (batches, ByteStream beyond the cap) and ActionCache, for the empty and a named instance", { timeout: 10 * MINUTE }, async () => {
  const bg = await startBuildGrid();
  const salt = String(Date.now());
  for (const instanceName of ["", "hardlinking"]) {
    const c = new ReapiClient({ target: bg.address, instanceName, insecure: true });
    try {
      const caps = await c.getCapabilities();
      assert.ok((caps.highApiVersion?.major ?? 0) === 2 && (caps.highApiVersion?.minor ?? 0) >= 1, `REAPI ≥ 2.1: ${JSON.stringify(caps.highApiVersion)}`);
      const small = new TextEncoder().encode(`small ${instanceName} ${salt}`);
      const big = new Uint8Array(3 * 1024 * 1024 + instanceName.length).map((_, i) => (i * 31 + salt.length) & 0xff);
      const blobs = [small, big].map((data) => ({ digest: digestOf(data), data }));
      assert.equal((await c.findMissingBlobs(blobs.map((b) => b.digest))).length, 2);
      await c.uploadBlobs(blobs);
      assert.deepEqual(await c.findMissingBlobs(blobs.map((b) => b.digest)), []);
      for (const b of blobs) assert.ok(Buffer.from(await c.readBlob(b.digest)).equals(Buffer.from(b.data)));
      const action = R.Action.encode({
        commandDigest: digestOf(R.Command.encode({ arguments: ["/bin/true", instanceName, salt] }).finish()),
        inputRootDigest: digestOf(new Uint8Array()),
        platform: { properties: [{ name: "OSFamily", value: "linux" }] },
      }).finish();
      const ad = digestOf(action);
      assert.equal(await c.getActionResult(ad), undefined);
      await c.uploadBlobs([{ digest: ad, data: action }]);
      await c.updateActionResult(ad, { exitCode: 0, stdoutDigest: blobs[0]!.digest });
      const hit = await c.getActionResult(ad);
      assert.equal(hit?.stdoutDigest?.hash, blobs[0]!.digest.hash);
    } finally {
      c.close();
    }
  }
});

test("BuildGrid without a worker: goma doctor passes its capabilities and names it cache-only; a compile falls back locally with the reason recorded", { timeout: 10 * MINUTE }, async () => {
  const bg = await startBuildGrid();
  const stack = await startStack({ serverArgs: ["--remoteexec-addr", bg.address] });
  try {
    const d = await doctor(stack.env, ["--no-compile"]);
    assert.equal(check(d, "backend.reachable").status, "pass");
    assert.equal(check(d, "backend.api").status, "pass", check(d, "backend.api").evidence);
    assert.equal(check(d, "backend.digest").status, "pass");
    const a = check(d, "backend.action");
    assert.equal(a.status, "fail");
    console.log(`doctor: ${a.evidence} / ${a.fix}`);
    assert.match(`${a.evidence} ${a.fix}`, /execution disabled \(cache only\)|cache-only REAPI service/);
    const proj = makeProject(1);
    const task = await compileBoth(stack, proj, "src/f0.c", "localFallback");
    console.log(`recorded reason: ${task.reason}`);
    assert.match(task.reason ?? "", new RegExp(`Execute on REAPI ${bg.address.replace(/\./g, "\\.")} .*failed.*(unimplemented|UNIMPLEMENTED|Method not found)`, "i"));
  } catch (e) {
    (e as Error).message += `\n--- bgd log ---\n${bg.log().slice(-4000)}\n--- goma server log ---\n${stack.serverLog().slice(-4000)}`;
    throw e;
  } finally {
    await stack.stop();
  }
});

/** `goma cc` of `src` in `proj` with `env` over the stack's; asserts the proxy counted it as `expect`; the object's bytes. */
async function compileVia(stack: GomaStack, proj: string, src: string, expect: string, env: Record<string, string> = {}): Promise<Buffer> {
  const obj = src.replace(/\.c$/, ".o");
  const before = await stack.stats();
  const r = await run([gomaBin(), "cc", "gcc", "-g", "-O2", "-Iinc", "-c", src, "-o", obj], { cwd: proj, env: { ...stack.env, ...env } });
  assert.equal(r.code, 0, r.stderr);
  const task = (await stack.tasks()).filter((t) => t.argv.includes(obj)).sort((a, b) => b.id - a.id)[0];
  assert.equal((await stack.stats())[expect]! - before[expect]!, 1, `the compile of ${src} went ${task?.outcome} (${task?.reason ?? "no reason"}), not ${expect}`);
  const data = readFileSync(join(proj, obj));
  rmSync(join(proj, obj));
  return data;
}

test("goma server through BuildGrid's CAS and ActionCache (--remote-cache-addr): a GOMA_STORE_ONLY compile is stored there; a fresh server and proxy get it back as an action-cache hit, byte-identical", { timeout: 10 * MINUTE }, async () => {
  const bg = await startBuildGrid();
  const proj = makeProject(1);
  const src = "src/f0.c";
  const cas = new ReapiClient({ target: bg.address, instanceName: "", insecure: true });
  const stacks: GomaStack[] = [];
  try {
    // 1. GOMA_STORE_ONLY through --remoteexec-addr does not write through: STORE_ONLY only skips the
    //    lookup and still needs Execute, which BuildGrid lacks here; the compile falls back locally and
    //    nothing of it reaches BuildGrid.
    const direct = await startStack({ serverArgs: ["--remoteexec-addr", bg.address] });
    stacks.push(direct);
    const fellBack = await compileVia(direct, proj, src, "localFallback", { GOMA_STORE_ONLY: "1" });
    assert.deepEqual(await cas.findMissingBlobs([digestOf(fellBack)]), [digestOf(fellBack)], "the locally compiled object is not in BuildGrid's CAS");
    await direct.stop();

    // 2. --remote-cache-addr: the embedded backend executes, BuildGrid stores (inputs, outputs, result).
    const first = await startStack({ serverArgs: ["--remote-cache-addr", bg.address] });
    stacks.push(first);
    const stored = await compileVia(first, proj, src, "remote", { GOMA_STORE_ONLY: "1" });
    assert.ok(stored.equals(fellBack), "the object goma built equals the local one");
    assert.deepEqual(await cas.findMissingBlobs([digestOf(stored)]), [], "the object is in BuildGrid's CAS");
    await first.stop();

    // 3. A fresh server (empty embedded stores) and proxy (empty local output cache): an action-cache hit
    //    that can only come from BuildGrid, with the same bytes as a local compile.
    const second = await startStack({ serverArgs: ["--remote-cache-addr", bg.address] });
    stacks.push(second);
    const task = await compileBoth(second, proj, src, "cacheHit");
    assert.equal(task.outcome, "cacheHit");
    const again = await compileVia(second, proj, src, "cacheHit");
    assert.ok(again.equals(stored), "the hit's object is byte-identical to the stored one");
    assert.match(second.serverLog(), new RegExp(`CAS and action cache of record: REAPI ${bg.address.replace(/\./g, "\\.")}`));
  } catch (e) {
    (e as Error).message += `\n--- bgd log ---\n${bg.log().slice(-4000)}\n--- goma server log ---\n${stacks.at(-1)?.serverLog().slice(-4000)}`;
    throw e;
  } finally {
    cas.close();
    for (const s of stacks) await s.stop();
  }
});

test("goma server refuses --remote-cache-addr with --remoteexec-addr, in one line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-remote-cache-flags-"));
  try {
    const r = await run([gomaBin(), "server", "--port", "0", "--cache-dir", dir, "--remote-cache-addr", "127.0.0.1:1", "--remoteexec-addr", "127.0.0.1:2"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), "goma server: --remote-cache-addr makes the embedded backend execute with that service as its cache: it contradicts --remoteexec-addr (which executes there); drop one");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
