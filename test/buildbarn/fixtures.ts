/**
 * Shared fixtures of the Buildbarn tests: one Buildbarn install per test file (in `beforeAll`: the first
 * install takes minutes), a Buildbarn and a goma stack per test, a small C project, and a compile checked
 * against a local one. Importing this module registers the install and cleanup hooks.
 */
import { after } from "node:test";
import { beforeAll } from "bun:test"; // node:test's before() timeout is not honoured by bun: the install takes minutes
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, gomaBin, run, type GomaStack, type TaskInfo } from "../e2e/harness.ts";
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

/**
 * A small C project: `n` sources including a header from inc/, and a Makefile building every object in
 * order (serially); with `make STOP_AFTER=k HOOK=cmd`, `cmd` runs once the first k objects are built.
 */
export function makeProject(n: number): string {
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
export async function compileBoth(stack: GomaStack, proj: string, src: string, expect: "remote" | "cacheHit" | "localFallback"): Promise<TaskInfo> {
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

