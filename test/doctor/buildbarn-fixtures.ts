/**
 * Fixtures of the doctor-against-Buildbarn tests: install through scripts/buildbarn/install.sh (throws with
 * its message when it cannot: these tests never skip), a Buildbarn per test in its own BB_ROOT and port
 * offset, and a goma server in front of it. Importing this module registers the cleanup hook.
 */
import { after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, run, type GomaStack } from "../e2e/harness.ts";

export const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../scripts/buildbarn");
const stacks: GomaStack[] = [];
const roots: { root: string; env: Record<string, string> }[] = [];
let nextOffset = 2000 + (process.pid % 400) * 10;

/** install.sh once at load (cached after the first install); throws with its message when it cannot. */
export function install(storageOnly: boolean): { bin?: string } {
  const r = spawnSync("bash", [join(SCRIPTS, "install.sh"), ...(storageOnly ? ["--storage-only"] : [])], { encoding: "utf8", timeout: 3_000_000 });
  if (r.status === 0) return { bin: r.stdout.trim() };
  const msg = (r.stderr ?? "").trim().split("\n").filter(Boolean).pop() ?? `install.sh exited ${r.status}`;
  if (r.status === 3) throw new Error(`Buildbarn is not installable here: ${msg}`);
  throw new Error(`scripts/buildbarn/install.sh failed (exit ${r.status}):\n${r.stderr}`);
}

after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  for (const r of roots) {
    await run(["bash", join(SCRIPTS, "stop.sh")], { env: r.env });
    rmSync(r.root, { recursive: true, force: true });
  }
});

/** Starts Buildbarn with `args` in a fresh BB_ROOT; returns the frontend address. */
export async function buildbarn(bin: string, args: string[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "goma-bb-doctor-"));
  const env = { BB_ROOT: root, BB_BIN: bin, BB_PORT_OFFSET: String(nextOffset) };
  nextOffset += 10;
  roots.push({ root, env });
  const r = await run(["bash", join(SCRIPTS, "start.sh"), ...args], { env });
  assert.equal(r.code, 0, `start.sh ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

/** bb_scheduler's BuildQueueState address of the Buildbarn whose frontend is `addr` (start.sh: frontend port + 4). */
export function schedulerOf(addr: string): string {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  return `${host}:${port + 4}`;
}

/** A goma server (no proxy) in front of the Buildbarn at `addr`; stopped after the file's tests. */
export async function serverFor(addr: string, extra: string[] = []): Promise<GomaStack> {
  const s = await startStack({ proxy: false, serverArgs: ["--remoteexec-addr", addr, ...extra] });
  stacks.push(s);
  return s;
}
