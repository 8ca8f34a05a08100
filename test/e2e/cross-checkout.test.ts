/**
 * Cross-checkout hits (issue 12 §4) through the compiled binary, with real gcc and clang: two checkouts
 * of the same sources at different paths, compiled as CMake does (absolute paths, -g, -MD). With prefix
 * maps that cover the root, the second checkout's compiles are answered by the server's action cache, its
 * objects are byte-identical to a local build there and its dep files name the same files (the compiler
 * folds a dep file's lines by length, and the exec root's length is not the checkout's); without them every compile of the
 * second checkout misses (runs on the backend), and is identical to local too.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

const SOURCES = ["app", "util"];

/** Checkout A at base/a/proj and its copy, checkout B, at base/b/other-name/proj. */
function checkouts(): [string, string] {
  const base = mkdtempSync(join(tmpdir(), "goma-e2e-xco-"));
  cleanup.push(() => rmSync(base, { recursive: true, force: true }));
  const a = join(base, "a", "proj");
  mkdirSync(join(a, "include"), { recursive: true });
  mkdirSync(join(a, "src"));
  mkdirSync(join(a, "build"));
  writeFileSync(join(a, "include", "util.h"), '#pragma once\n#include <assert.h>\nstatic inline int twice(int x) { assert(x < 1000); return 2 * x; }\nint util(int);\n');
  writeFileSync(join(a, "src", "util.c"), '#include "util.h"\n#include <stdio.h>\nint util(int x) { printf("%s\\n", __FILE__); return twice(x); }\n');
  writeFileSync(join(a, "src", "app.c"), '#include "util.h"\nint main(void) { return util(3) == 6 ? 0 : 1; }\n');
  const b = join(base, "b", "other-name", "proj");
  cpSync(a, b, { recursive: true });
  return [a, b];
}

/**
 * CMake's shape of a compile of src/NAME.c in checkout `root` (run in build/), or with `maps` "relative" a
 * plain Makefile's: relative paths and no debug info, which need no map.
 */
function argv(compiler: string, root: string, name: string, maps: boolean | "relative"): string[] {
  if (maps === "relative") return [compiler, "-O2", "-I../include", "-MD", "-o", `${name}.o`, "-c", `../src/${name}.c`];
  return [compiler, "-g", "-O2", `-I${root}/include`, ...(maps ? [`-ffile-prefix-map=${root}=.`] : []),
    "-MD", "-MT", `build/${name}.o`, "-MF", `${root}/build/${name}.d`, "-o", `${root}/build/${name}.o`, "-c", `${root}/src/${name}.c`];
}

/** Object and dep file of each source, as the compile in `root` left them (then removed). */
function outputs(root: string): Buffer[] {
  const out: Buffer[] = [];
  for (const n of SOURCES) {
    for (const ext of ["o", "d"]) {
      out.push(readFileSync(join(root, "build", `${n}.${ext}`)));
      rmSync(join(root, "build", `${n}.${ext}`));
    }
  }
  return out;
}

/** The words of a dep file: the compiler folds its lines by length, which differs with the exec root's. */
const depWords = (d: Buffer) => d.toString().replace(/\\\n/g, " ").split(/\s+/).filter(Boolean);

/** Objects byte-identical, dep files naming the same target and files in the same order. */
function same(got: Buffer[], want: Buffer[]): void {
  got.forEach((f, i) => {
    const what = `${SOURCES[i >> 1]}.${i % 2 ? "d" : "o"}`;
    if (i % 2) assert.deepEqual(depWords(f), depWords(want[i]!), `${what} differs from the local build in checkout B`);
    else assert.ok(f.equals(want[i]!), `${what} differs from the local build in checkout B`);
  });
}

async function build(root: string, compiler: string, maps: boolean | "relative", stack?: GomaStack): Promise<void> {
  for (const n of SOURCES) {
    const cmd = argv(compiler, root, n, maps);
    const r = await run(stack ? [gomaBin(), "cc", ...cmd] : cmd, { cwd: join(root, "build"), env: stack?.env });
    assert.equal(r.code, 0, r.stderr);
  }
}

let stack: GomaStack;
async function theStack(): Promise<GomaStack> {
  if (!stack) {
    stack = await startStack({});
    cleanup.push(() => stack.stop());
  }
  return stack;
}

for (const compiler of ["gcc", "clang"]) {
  test(`${compiler}: relative paths and no debug info: the second checkout hits the action cache, byte-identical to its local build`, async () => {
    const s = await theStack();
    const [a, b] = checkouts();
    await build(b, compiler, "relative");
    const localB = outputs(b);
    await build(a, compiler, "relative", s);
    await build(b, compiler, "relative", s);
    const tasksB = (await s.tasks()).slice(0, SOURCES.length);
    assert.deepEqual(tasksB.map((t) => t.outcome), SOURCES.map(() => "cacheHit"), JSON.stringify(tasksB));
    same(outputs(b), localB);
  });

  test(`${compiler}: prefix maps over the root: the second checkout hits the action cache, byte-identical to its local build`, async () => {
    const s = await theStack();
    const [a, b] = checkouts();
    await build(b, compiler, true);
    const localB = outputs(b);
    await build(a, compiler, true, s);
    const tasksA = (await s.tasks()).slice(0, SOURCES.length);
    assert.deepEqual(tasksA.map((t) => t.outcome), SOURCES.map(() => "remote"), JSON.stringify(tasksA));
    await build(b, compiler, true, s);
    const tasksB = (await s.tasks()).slice(0, SOURCES.length);
    assert.deepEqual(tasksB.map((t) => t.outcome), SOURCES.map(() => "cacheHit"), JSON.stringify(tasksB));
    const gomaB = outputs(b);
    same(gomaB, localB);
    assert.match(gomaB[1]!.toString(), new RegExp(`${b}/include/util\\.h`), "the dep file names checkout B's header");
    assert.doesNotMatch(gomaB[1]!.toString(), new RegExp(`${a}/`), "and nothing of checkout A");
  });

  test(`${compiler}: no prefix maps: the second checkout misses (its objects name its own paths), identical to its local build`, async () => {
    const s = await theStack();
    const [a, b] = checkouts();
    await build(b, compiler, false);
    const localB = outputs(b);
    await build(a, compiler, false, s);
    await build(b, compiler, false, s);
    const tasksB = (await s.tasks()).slice(0, SOURCES.length);
    assert.deepEqual(tasksB.map((t) => t.outcome), SOURCES.map(() => "remote"), JSON.stringify(tasksB));
    same(outputs(b), localB);
  });
}
