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
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, run, type GomaStack } from "../e2e/harness.ts";
import { check, doctor } from "./helpers.ts";

const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../scripts/buildbarn");
const stacks: GomaStack[] = [];
const roots: { root: string; env: Record<string, string> }[] = [];
let nextOffset = 2000 + (process.pid % 400) * 10;

/** install.sh once at load (cached after the first install); throws with its message when it cannot. */
function install(storageOnly: boolean): { bin?: string } {
  const r = spawnSync("bash", [join(SCRIPTS, "install.sh"), ...(storageOnly ? ["--storage-only"] : [])], { encoding: "utf8", timeout: 3_000_000 });
  if (r.status === 0) return { bin: r.stdout.trim() };
  const msg = (r.stderr ?? "").trim().split("\n").filter(Boolean).pop() ?? `install.sh exited ${r.status}`;
  if (r.status === 3) throw new Error(`Buildbarn is not installable here: ${msg}`);
  throw new Error(`scripts/buildbarn/install.sh failed (exit ${r.status}):\n${r.stderr}`);
}
const fullInstall = install(false);

after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  for (const r of roots) {
    await run(["bash", join(SCRIPTS, "stop.sh")], { env: r.env });
    rmSync(r.root, { recursive: true, force: true });
  }
});

/** Starts Buildbarn with `args` in a fresh BB_ROOT; returns the frontend address. */
async function buildbarn(bin: string, args: string[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "goma-bb-doctor-"));
  const env = { BB_ROOT: root, BB_BIN: bin, BB_PORT_OFFSET: String(nextOffset) };
  nextOffset += 10;
  roots.push({ root, env });
  const r = await run(["bash", join(SCRIPTS, "start.sh"), ...args], { env });
  assert.equal(r.code, 0, `start.sh ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

async function serverFor(addr: string, extra: string[] = []): Promise<GomaStack> {
  const s = await startStack({ proxy: false, serverArgs: ["--remoteexec-addr", addr, ...extra] });
  stacks.push(s);
  return s;
}

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

