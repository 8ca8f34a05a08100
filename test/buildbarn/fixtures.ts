/**
 * Shared fixtures of the Buildbarn tests: one Buildbarn install per test file (in `beforeAll`: the first
 * install takes minutes), a Buildbarn and a goma stack per test, and (from project.ts) a small C project
 * and a compile checked against a local one. Importing this module registers the install and cleanup hooks.
 */
import { after } from "node:test";
import { beforeAll } from "bun:test"; // node:test's before() timeout is not honoured by bun: the install takes minutes
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, type GomaStack } from "../e2e/harness.ts";
import { installBuildbarn, startBuildbarn, type Buildbarn, type BuildbarnInstall } from "./buildbarn.ts";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const MINUTE = 60_000;
export let inst: BuildbarnInstall;
let installError: unknown;
export const cleanups: (() => Promise<void>)[] = [];

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

/**
 * Fails the test (never skips it) when the part of Buildbarn it needs could not be installed: a test that
 * cannot run here must say so as a failure.
 */
export function need(_t: unknown, what: "storage" | "full"): boolean {
  if (installError) throw installError;
  const ok = what === "storage" ? !!inst?.bin : !!inst?.full;
  if (!ok) {
    throw new Error(`needs ${what === "full" ? "bb_scheduler, bb_worker and bb_runner" : "bb_storage"}: ${inst?.missing ?? "not installed"}`);
  }
  return ok;
}

/** Runs `body` with a Buildbarn started for it; stops it afterwards, and adds its logs to a failure. */
export async function withBuildbarn(opts: Parameters<typeof startBuildbarn>[1], body: (bb: Buildbarn) => Promise<void>): Promise<void> {
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
export async function withGoma(serverArgs: string[], body: (stack: GomaStack) => Promise<void>): Promise<void> {
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

export { makeProject, compileBoth } from "./project.ts";
