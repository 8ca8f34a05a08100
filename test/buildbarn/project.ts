/**
 * A small C project and a compile through goma checked against a local one, shared by the Buildbarn and
 * BuildGrid tests; and temp directories removed when the test process exits (bun evaluates a shared module
 * once per run, so a node:test `after` hook it registers belongs to the first test file only).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run, type GomaStack, type TaskInfo } from "../e2e/harness.ts";

const dirs: string[] = [];
process.on("exit", () => {
  for (const d of dirs) {
    spawnSync("chmod", ["-R", "u+w", d]); // Buildbarn leaves read-only action directories
    rmSync(d, { recursive: true, force: true });
  }
});

/** A fresh directory under the system temp dir, removed (with whatever is in it) when the test process exits. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/**
 * A small C project: `n` sources including a header from inc/, and a Makefile building every object in
 * order (serially); with `make STOP_AFTER=k HOOK=cmd`, `cmd` runs once the first k objects are built.
 */
export function makeProject(n: number): string {
  const dir = tempDir("goma-bb-proj-");
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

