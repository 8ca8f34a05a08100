/**
 * Fixtures of the doctor-against-Buildbarn tests: install through scripts/buildbarn/install.sh (throws with
 * its message when it cannot: these tests never skip), a Buildbarn per test in its own BB_ROOT and port
 * offset (test/buildbarn/buildbarn.ts: stopped by a watchdog when the test process exits, since bun runs
 * no node:test `after` hook registered by an imported module), and a goma server in front of it.
 */
import { after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, type GomaStack } from "../e2e/harness.ts";
import { startBuildbarn, type Buildbarn } from "../buildbarn/buildbarn.ts";

export const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../scripts/buildbarn");
const stacks: GomaStack[] = [];
const started: Buildbarn[] = [];

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
  for (const b of started) await b.stop().catch(() => {});
});

/** Starts Buildbarn with start.sh options `args` in a fresh BB_ROOT at a free port offset; returns the frontend address. */
export async function buildbarn(bin: string, args: string[]): Promise<string> {
  const bb = await startBuildbarn({ bin, full: true, seconds: 0 }, { args });
  started.push(bb);
  return bb.address;
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
