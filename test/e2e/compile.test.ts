/**
 * End to end: the compiled binary (dist/goma) as server (embedded backend) + proxy + cc, with real gcc
 * and clang on real sources. Every assertion is about observable behaviour: objects byte for byte,
 * exit codes, stderr, the proxy's own counters and reasons.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";
import { localTokenPath } from "../../lib/auth/local-token.ts";

let stack: GomaStack;
let proj: string;

/** A small C and C++ project with a local header in a -I dir, a quoted include and a system header. */
function makeProject(dir: string): void {
  mkdirSync(join(dir, "inc"), { recursive: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "inc", "util.h"), "#pragma once\n#include <stddef.h>\nstatic inline size_t twice(size_t x) { return 2 * x; }\n");
  writeFileSync(join(dir, "src", "local.h"), "#define GREETING \"hello\"\n");
  writeFileSync(join(dir, "src", "a.c"), '#include <stdio.h>\n#include "util.h"\n#include "local.h"\nint main(void) { printf("%s %zu %s\\n", GREETING, twice(21), __FILE__); return 0; }\n');
  writeFileSync(join(dir, "src", "b.cc"), '#include <string>\n#include <vector>\n#include "util.h"\nstd::string join(const std::vector<std::string>& v) { std::string r; for (auto& s : v) r += s; return r + std::to_string(twice(2)); }\n');
  writeFileSync(join(dir, "src", "bad.c"), "int main(void) { return undeclared_thing; }\n");
}

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-proj-"));
  makeProject(proj);
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

const cc = (args: string[], env: Record<string, string> = stack.env) => run([gomaBin(), "cc", ...args], { cwd: proj, env });

async function remoteThenLocal(compiler: string, src: string, obj: string, extra: string[] = []) {
  const before = await stack.stats();
  const args = [compiler, "-g", "-O2", "-Iinc", ...extra, "-c", src, "-o", obj];
  const r = await cc(args);
  assert.equal(r.code, 0, r.stderr);
  const after = await stack.stats();
  assert.equal(after.remote! + after.cacheHit! - before.remote! - before.cacheHit!, 1, "the compile went through the backend");
  const remoteObj = readFileSync(join(proj, obj));
  rmSync(join(proj, obj));
  const l = await run(args, { cwd: proj });
  assert.equal(l.code, 0, l.stderr);
  assert.ok(remoteObj.equals(readFileSync(join(proj, obj))), `${obj} differs between remote and local compile`);
}

test("gcc: a remote compile of C with -g is byte-identical to a local compile", async () => {
  await remoteThenLocal("gcc", "src/a.c", "a.o");
});

test("clang++: a remote compile of C++ with -g is byte-identical to a local compile", async () => {
  await remoteThenLocal("clang++", "src/b.cc", "b.o", ["-std=c++17"]);
});

test("g++ with -MD writes the same dep file as a local compile", async () => {
  await remoteThenLocal("g++", "src/b.cc", "b2.o", ["-MD"]);
  const local = readFileSync(join(proj, "b2.d"), "utf8");
  rmSync(join(proj, "b2.d"));
  rmSync(join(proj, "b2.o"));
  const r = await cc(["g++", "-g", "-O2", "-Iinc", "-MD", "-c", "src/b.cc", "-o", "b2.o"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(proj, "b2.d"), "utf8"), local);
});

test("the user's own -ffile-prefix-map still wins remotely (gcc and clang), as Debian's build flags use it", async () => {
  await remoteThenLocal("gcc", "src/a.c", "map-gcc.o", [`-ffile-prefix-map=${proj}=.`]);
  await remoteThenLocal("clang", "src/a.c", "map-clang.o", [`-ffile-prefix-map=${proj}=.`]);
  await remoteThenLocal("gcc", "src/a.c", "map-gcc-sub.o", [`-fdebug-prefix-map=${proj}/src=.`]);
  await remoteThenLocal("clang", "src/a.c", "map-clang-sub.o", [`-fdebug-prefix-map=${proj}/src=.`]);
});

test("absolute paths (as CMake writes them): object and dep file equal a local compile's", async () => {
  const args = (obj: string) => ["gcc", "-g", "-O2", `-I${proj}/inc`, "-MD", "-MF", `${proj}/${obj}.d`, "-c", `${proj}/src/a.c`, "-o", `${proj}/${obj}`];
  const r = await cc(args("abs.o"));
  assert.equal(r.code, 0, r.stderr);
  const remoteObj = readFileSync(join(proj, "abs.o"));
  const remoteDep = readFileSync(join(proj, "abs.o.d"), "utf8");
  assert.equal((await run(args("abs.o"), { cwd: proj })).code, 0);
  // gcc wraps dep-file lines by width, and the worker's path was longer: compare what make/ninja read.
  const words = (d: string) => d.replace(/\\\n/g, " ").split(/\s+/).filter(Boolean);
  assert.deepEqual(words(remoteDep), words(readFileSync(join(proj, "abs.o.d"), "utf8")));
  assert.ok(remoteObj.equals(readFileSync(join(proj, "abs.o"))), "abs.o differs from a local compile");
  assert.match(remoteDep, new RegExp(`${proj}/inc/util.h`));
});

test("a compiler reached through a symlink inside the project compiles, and its object equals a local one", async () => {
  mkdirSync(join(proj, "tools"), { recursive: true });
  if (!existsSync(join(proj, "tools", "gcc"))) symlinkSync("/usr/bin/gcc", join(proj, "tools", "gcc"));
  const args = ["tools/gcc", "-g", "-Iinc", "-c", "src/a.c", "-o", "viatools.o"];
  const before = await stack.stats();
  const r = await cc(args);
  assert.equal(r.code, 0, r.stderr);
  const after = await stack.stats();
  assert.equal(after.remote! + after.cacheHit! - before.remote! - before.cacheHit!, 1, "it ran on the backend, through the symlink");
  const viaGoma = readFileSync(join(proj, "viatools.o"));
  rmSync(join(proj, "viatools.o"));
  assert.equal((await run(args, { cwd: proj })).code, 0);
  assert.ok(viaGoma.equals(readFileSync(join(proj, "viatools.o"))));
});

test("a compiler found through a directory of links outside the project (~/bin/clang++ -> /usr/bin/clang++) compiles remotely as that driver", async () => {
  // The worker has neither the client's home nor its /tmp (the sandbox hides them): the server runs the
  // first path of the link chain under an env prefix, keeping the driver's name (clang++ stays C++).
  // As ~/bin: the links' directory and its parent are the user's (the backend takes clang's and gcc's
  // installation from there, lib/backend/command-policy.ts), not /tmp, where anyone may add lib/gcc/….
  const home = mkdtempSync(join(tmpdir(), "goma-e2e-links-"));
  const bin = join(home, "bin");
  mkdirSync(bin);
  try {
    for (const c of ["gcc", "clang++"]) symlinkSync(`/usr/bin/${c}`, join(bin, c));
    for (const [c, src] of [["gcc", "src/a.c"], ["clang++", "src/b.cc"]] as const) {
      const args = [join(bin, c), "-g", "-Iinc", "-c", src, "-o", `vialinks-${c}.o`];
      const before = await stack.stats();
      const r = await cc(args);
      assert.equal(r.code, 0, r.stderr);
      const after = await stack.stats();
      assert.equal(after.remote! + after.cacheHit! - before.remote! - before.cacheHit!, 1, `${c} ran on the backend: ${JSON.stringify((await stack.tasks()).at(0))}`);
      const viaGoma = readFileSync(join(proj, `vialinks-${c}.o`));
      rmSync(join(proj, `vialinks-${c}.o`));
      assert.equal((await run(args, { cwd: proj })).code, 0);
      assert.ok(viaGoma.equals(readFileSync(join(proj, `vialinks-${c}.o`))), `${c}: the object equals a local one`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("the second identical compile is served from the action cache", async () => {
  const args = ["gcc", "-O1", "-Iinc", "-c", "src/a.c", "-o", "cached.o"];
  assert.equal((await cc(args)).code, 0);
  const first = readFileSync(join(proj, "cached.o"));
  rmSync(join(proj, "cached.o"));
  const before = await stack.stats();
  assert.equal((await cc(args)).code, 0);
  const after = await stack.stats();
  assert.equal(after.cacheHit! - before.cacheHit!, 1);
  assert.ok(first.equals(readFileSync(join(proj, "cached.o"))));
});

test("a compile error gives the same exit code and stderr as a local compile", async () => {
  const args = ["gcc", "-c", "src/bad.c", "-o", "bad.o"];
  const remote = await cc(args);
  const local = await run(args, { cwd: proj });
  assert.notEqual(local.code, 0);
  assert.equal(remote.code, local.code);
  assert.equal(remote.stderr, local.stderr);
  assert.equal(existsSync(join(proj, "bad.o")), false);
});

test("a link is not remotable: it runs locally and is recorded as local", async () => {
  assert.equal((await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", "main.o"])).code, 0);
  const before = await stack.stats();
  const r = await cc(["gcc", "main.o", "-o", "prog"]);
  assert.equal(r.code, 0, r.stderr);
  const out = await run([join(proj, "prog")], { cwd: proj });
  assert.match(out.stdout, /^hello 42 src\/a.c$/m);
  const after = await stack.stats();
  assert.equal(after.remote! - before.remote!, 0);
});

test("gomacc (a symlink to goma) behaves as goma cc", async () => {
  const link = join(proj, "gomacc");
  if (!existsSync(link)) symlinkSync(gomaBin(), link);
  const before = await stack.stats();
  const r = await run([link, "gcc", "-Iinc", "-c", "src/a.c", "-o", "via-gomacc.o"], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  const after = await stack.stats();
  assert.equal(after.total! - before.total!, 1);
});

test("16 concurrent compiles all succeed remotely", async () => {
  mkdirSync(join(proj, "many"), { recursive: true });
  for (let i = 0; i < 16; i++) writeFileSync(join(proj, "many", `f${i}.c`), `#include "util.h"\nint f${i}(void) { return (int)twice(${i}); }\n`);
  const before = await stack.stats();
  const results = await Promise.all(
    Array.from({ length: 16 }, (_, i) => cc(["gcc", "-g", "-Iinc", "-c", `many/f${i}.c`, "-o", `many/f${i}.o`])),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const after = await stack.stats();
  assert.equal(after.remote! + after.cacheHit! - before.remote! - before.cacheHit!, 16);
  assert.equal(after.localFallback! - before.localFallback!, 0);
});

test("proxy not running: goma cc compiles locally and succeeds", async () => {
  const env = { ...stack.env, GOMA_TMP_DIR: mkdtempSync(join(tmpdir(), "goma-noproxy-")) };
  const r = await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", "noproxy.o"], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(proj, "noproxy.o")));
});

test("server errors are answered with 400/413 and the server keeps serving", async () => {
  const base = `http://127.0.0.1:${stack.serverPort}/cxx-compiler-service`;
  // A loopback server without token files takes its user's local token (lib/auth/local-token.ts).
  const headers = { authorization: `Bearer ${readFileSync(localTokenPath(process.env), "utf8").trim()}` };
  const bad = await fetch(`${base}/e`, { method: "POST", body: new Uint8Array([0x0a, 0x7f, 1]), headers });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /cannot parse ExecReq/);
  const big = await fetch(`${base}/e`, { method: "POST", body: new Uint8Array(65 * 1024 * 1024), headers });
  assert.equal(big.status, 413);
  const ping = await fetch(`${base}/ping`, { method: "POST", headers });
  assert.equal(ping.status, 200);
  // and a real compile still works
  assert.equal((await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", "after-errors.o"])).code, 0);
});

test("GOMA_STORE_ONLY in any of Goma's spellings (=on) skips the cache lookup; unset, the same compile is a hit", async () => {
  writeFileSync(join(proj, "src", "store.c"), "int store_only(void) { return 7; }\n");
  const last = async () => (await stack.tasks()).reduce((a, b) => (b.id > a.id ? b : a));
  const args = ["gcc", "-c", "src/store.c", "-o", "src/store.o"];
  assert.equal((await cc(args)).code, 0);
  assert.equal((await cc(args)).code, 0);
  const hit = await last();
  assert.equal(hit.outcome, "cacheHit", hit.reason);
  const r = await cc(args, { ...stack.env, GOMA_STORE_ONLY: "on" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await last()).outcome, "remote", "GOMA_STORE_ONLY=on: executed again, not looked up");
});

test("GOMA_SERVER_INPROC: the server calls its embedded backend in process by default, over loopback gRPC with =false (same object); a bad value is refused", async () => {
  assert.match(stack.serverLog(), /backend: embedded at 127\.0\.0\.1:\d+, called in process,/);
  const grpcStack = await startStack({ env: { GOMA_SERVER_INPROC: "false" } });
  try {
    assert.match(grpcStack.serverLog(), /backend: embedded at 127\.0\.0\.1:\d+, called over gRPC \(GOMA_SERVER_INPROC=false\),/);
    const args = ["gcc", "-g", "-O2", "-Iinc", "-c", "src/a.c", "-o", "inproc-false.o"];
    const r = await cc(args, grpcStack.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await grpcStack.stats()).remote, 1, "the compile went through the backend");
    const remoteObj = readFileSync(join(proj, "inproc-false.o"));
    assert.equal((await run(args, { cwd: proj })).code, 0);
    assert.ok(remoteObj.equals(readFileSync(join(proj, "inproc-false.o"))), "the object differs from a local compile");
  } finally {
    await grpcStack.stop();
  }
  const bad = await run([gomaBin(), "server", "--port", "0", "--cache-dir", join(proj, "bad-inproc")], { env: { GOMA_SERVER_INPROC: "maybe" } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /GOMA_SERVER_INPROC must be true or false, got "maybe"/);
});

test("server down: the compile falls back to local, succeeds, and the reason is recorded", async () => {
  await stack.stopServer();
  const before = await stack.stats();
  const r = await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", "fallback.o"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(proj, "fallback.o")));
  const after = await stack.stats();
  assert.equal(after.localFallback! - before.localFallback!, 1);
  const tasks = (await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/api/tasks`)).json()) as { outcome?: string; reason?: string }[];
  const t = tasks.find((x) => x.outcome === "localFallback");
  assert.match(t?.reason ?? "", /cannot reach goma server/);
});

test("server still down: after 3 consecutive failures compiles go local at once, saying remote is paused", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", `down${i}.o`])).code, 0);
  const r = await cc(["gcc", "-Iinc", "-c", "src/a.c", "-o", "paused.o"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(proj, "paused.o")));
  const tasks = (await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/api/tasks`)).json()) as { argv: string[]; reason?: string; stages: Record<string, number> }[];
  const t = tasks.find((x) => x.argv.includes("paused.o"));
  assert.match(t?.reason ?? "", /remote compiles paused for \d+ s after \d+ consecutive failures: cannot reach goma server/);
  assert.equal(t?.stages.exec, undefined, "no request was sent");
});
