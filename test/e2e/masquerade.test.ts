/**
 * Masquerade mode through the compiled binary: `goma cc --install-links DIR` makes links named after
 * compilers; with DIR first on PATH an untouched Makefile (`cc`, `$(CXX)`) and a CMake project compile
 * through the proxy, with the real compiler found further along PATH (no recursion, also with
 * GOMA_DISABLED and with the proxy down) and objects identical to a plain local build.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readlinkSync, rmSync, realpathSync, symlinkSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let dir: string;
let links: string;

function project(at: string): void {
  mkdirSync(join(at, "src"), { recursive: true });
  writeFileSync(join(at, "src", "a.c"), '#include <stdio.h>\nint a(void) { return printf("%s\\n", __FILE__); }\n');
  writeFileSync(join(at, "src", "b.cc"), "#include <string>\nstd::string b() { return std::to_string(42); }\n");
  writeFileSync(join(at, "Makefile"), "all: src/a.o src/b.o\nsrc/a.o: src/a.c\n\tcc -g -O2 -c src/a.c -o src/a.o\nsrc/b.o: src/b.cc\n\t$(CXX) -g -O2 -c src/b.cc -o src/b.o\n");
  writeFileSync(join(at, "CMakeLists.txt"), "cmake_minimum_required(VERSION 3.13)\nproject(m C CXX)\nadd_library(m STATIC src/a.c src/b.cc)\n");
}

before(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), "goma-masq-"));
  links = join(dir, "links");
  const r = await run([gomaBin(), "cc", "--install-links", links]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const PATH = () => `${links}:${process.env.PATH}`;

test("--install-links makes gcc, g++, cc, c++, clang, clang++ and the versioned names on PATH, all pointing at goma", () => {
  const names = readdirSync(links);
  for (const n of ["gcc", "g++", "cc", "c++", "clang", "clang++"]) assert.ok(names.includes(n), `${n} in ${names.join(" ")}`);
  assert.ok(names.some((n) => /^gcc-\d+$/.test(n)), `a versioned gcc in ${names.join(" ")}`);
  for (const n of names) assert.equal(realpathSync(join(links, n)), realpathSync(gomaBin()), n);
  assert.equal(readlinkSync(join(links, "gcc")), realpathSync(gomaBin()));
});

test("an untouched Makefile compiles through goma via the links; objects equal a local build", async () => {
  const p = join(dir, "make");
  project(p);
  const before = await stack.stats();
  const r = await run(["make", "-j2"], { cwd: p, env: { ...stack.env, PATH: PATH() } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const after = await stack.stats();
  assert.equal(after.total! - before.total!, 2, JSON.stringify(after));
  assert.equal((after.remote! + after.cacheHit!) - (before.remote! + before.cacheHit!), 2, JSON.stringify(after));
  const objs = ["src/a.o", "src/b.o"].map((o) => readFileSync(join(p, o)));
  rmSync(join(p, "src/a.o"));
  rmSync(join(p, "src/b.o"));
  const local = await run(["make", "-j2"], { cwd: p });
  assert.equal(local.code, 0, local.stderr);
  assert.ok(objs[0]!.equals(readFileSync(join(p, "src/a.o"))), "a.o differs from a local build");
  assert.ok(objs[1]!.equals(readFileSync(join(p, "src/b.o"))), "b.o differs from a local build");
});

test("GOMA_DISABLED and a stopped proxy run the real compiler, never goma again", async () => {
  const p = join(dir, "disabled");
  project(p);
  const r = await run(["make"], { cwd: p, env: { ...stack.env, PATH: PATH(), GOMA_DISABLED: "1" } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // A link to a link in a second directory of links: still no recursion.
  const again = join(dir, "links2");
  mkdirSync(again);
  symlinkSync(join(links, "gcc"), join(again, "gcc"));
  const down = await run(["gcc", "-c", "src/a.c", "-o", "src/a2.o"], {
    cwd: p, env: { ...stack.env, GOMA_TMP_DIR: join(dir, "no-proxy-here"), PATH: `${again}:${links}:${process.env.PATH}` },
  });
  assert.equal(down.code, 0, down.stderr);
  const none = await run(["gcc", "--version"], { cwd: p, env: { ...stack.env, PATH: links } });
  assert.equal(none.code, 127);
  assert.match(none.stderr, /^goma: no gcc on PATH other than goma's own links/);
});

test("a CMake project configured with the links first on PATH compiles through goma", async () => {
  const p = join(dir, "cmake");
  project(p);
  const env: Record<string, string> = { ...stack.env, PATH: PATH() };
  const conf = await run(["cmake", "-S", p, "-B", join(p, "build")], { cwd: p, env });
  assert.equal(conf.code, 0, conf.stdout + conf.stderr);
  const before = await stack.stats();
  const b = await run(["cmake", "--build", join(p, "build")], { cwd: p, env });
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const after = await stack.stats();
  assert.equal((after.remote! + after.cacheHit!) - (before.remote! + before.cacheHit!), 2, JSON.stringify(after));
});

test("clang and versioned links (clang, clang++-14, gcc-12) compile through goma; objects equal a local compile", async () => {
  const p = join(dir, "named");
  project(p);
  const names = readdirSync(links);
  const cases: [string, string][] = [["clang", "src/a.c"], ["clang++-14", "src/b.cc"], ["gcc-12", "src/a.c"]];
  for (const [name, src] of cases) {
    assert.ok(names.includes(name), `${name} in ${names.join(" ")}`);
    const argv = ["-g", "-O2", "-c", src, "-o", "src/x.o"];
    const before = await stack.stats();
    const r = await run([name, ...argv], { cwd: p, env: { ...stack.env, PATH: PATH() } });
    assert.equal(r.code, 0, r.stderr);
    const after = await stack.stats();
    assert.equal(after.total! - before.total!, 1, `${name}: ${JSON.stringify(after)}`);
    assert.equal((after.remote! + after.cacheHit!) - (before.remote! + before.cacheHit!), 1, `${name}: ${JSON.stringify(after)}`);
    const viaGoma = readFileSync(join(p, "src/x.o"));
    rmSync(join(p, "src/x.o"));
    const local = await run([name, ...argv], { cwd: p }); // the real compiler, found on the plain PATH
    assert.equal(local.code, 0, local.stderr);
    assert.ok(viaGoma.equals(readFileSync(join(p, "src/x.o"))), `${name}: the object differs from a local compile`);
    rmSync(join(p, "src/x.o"));
  }
});
