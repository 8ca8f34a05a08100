/**
 * Goma's LocalOutputCache through the compiled binary (GOMA_LOCAL_OUTPUT_CACHE_DIR), with real gcc: a hit
 * is answered with the server stopped and writes the same object and dep file; a changed header misses; a
 * corrupt entry is never served (miss, removed, the compile still right); GC keeps the entries at the
 * threshold; without the variable nothing is cached.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync, readdirSync, existsSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack, type TaskInfo } from "./harness.ts";
import { decodeEntry } from "../../lib/proxy/local-output-cache.ts";

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** A project dir with a.c including h.h, and a local-cache dir beside it. */
function project(): { proj: string; loc: string } {
  const base = mkdtempSync(join(tmpdir(), "goma-e2e-loc-"));
  cleanup.push(() => rmSync(base, { recursive: true, force: true }));
  const proj = join(base, "proj");
  const loc = join(base, "loc");
  mkdirSync(proj);
  return { proj, loc };
}

async function setup(extraEnv: (loc: string) => Record<string, string>) {
  const { proj, loc } = project();
  writeFileSync(join(proj, "h.h"), "#define N 41\n");
  writeFileSync(join(proj, "a.c"), '#include <stdio.h>\n#include "h.h"\nint main(void) { printf("%d %s\\n", N + 1, __FILE__); return 0; }\n');
  const stack = await startStack({ env: extraEnv(loc) });
  cleanup.push(() => stack.stop());
  return { proj, loc, stack };
}

const ARGS = ["gcc", "-g", "-O2", "-MD", "-c", "a.c", "-o", "a.o"];
const cc = (stack: GomaStack, proj: string, args = ARGS) => run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });

/** The object and dep file a plain local gcc writes for ARGS in `proj` (then removed). */
async function localOutputs(proj: string): Promise<[Buffer, Buffer]> {
  const r = await run(ARGS, { cwd: proj });
  assert.equal(r.code, 0, r.stderr);
  const out: [Buffer, Buffer] = [readFileSync(join(proj, "a.o")), readFileSync(join(proj, "a.d"))];
  rmSync(join(proj, "a.o"));
  rmSync(join(proj, "a.d"));
  return out;
}

function entries(loc: string): string[] {
  if (!existsSync(loc)) return [];
  return readdirSync(loc).filter((d) => /^[0-9a-f]{2}$/.test(d)).flatMap((d) => readdirSync(join(loc, d)).map((f) => join(loc, d, f)));
}

async function lastTask(stack: GomaStack): Promise<TaskInfo & { localCacheHit?: boolean }> {
  return (await stack.tasks())[0]!;
}

async function statz(stack: GomaStack, name: string): Promise<number> {
  const html = await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/statz`)).text();
  const m = new RegExp(`localOutputCache\\.${name}</td><td>(\\d+)<`).exec(html);
  assert.ok(m, `/statz shows localOutputCache.${name}`);
  return Number(m[1]);
}

test("a second identical compile with the server stopped is served from the local cache, byte-identical; a changed header misses", async () => {
  const { proj, loc, stack } = await setup((loc) => ({ GOMA_LOCAL_OUTPUT_CACHE_DIR: loc }));
  const [localObj, localDep] = await localOutputs(proj);
  const r1 = await cc(stack, proj);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal((await lastTask(stack)).outcome, "remote");
  const obj = readFileSync(join(proj, "a.o"));
  const dep = readFileSync(join(proj, "a.d"));
  assert.ok(obj.equals(localObj), "remote object equals a local compile's");
  rmSync(join(proj, "a.o"));
  rmSync(join(proj, "a.d"));

  await stack.stopServer();
  const r2 = await cc(stack, proj);
  assert.equal(r2.code, 0, r2.stderr);
  const t2 = await lastTask(stack);
  assert.equal(t2.outcome, "cacheHit", t2.reason);
  assert.equal(t2.localCacheHit, true);
  assert.ok(readFileSync(join(proj, "a.o")).equals(obj), "the hit's object is byte-identical");
  assert.ok(readFileSync(join(proj, "a.d")).equals(dep), "the hit's dep file is byte-identical");
  const s = await stack.stats();
  assert.equal(s.localCacheHit, 1);
  assert.equal(s.cacheHit, 1);
  assert.equal(s.localFallback, 0);

  // A changed header: another key. The server is down, so the compile runs locally, correctly.
  writeFileSync(join(proj, "h.h"), "#define N 99\n");
  const [newObj] = await localOutputs(proj);
  const r3 = await cc(stack, proj);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal((await lastTask(stack)).outcome, "localFallback");
  assert.ok(readFileSync(join(proj, "a.o")).equals(newObj), "the changed header's object, not the cached one");
  assert.equal((await stack.stats()).localCacheHit, 1);

  // Two more misses with the server down: three consecutive failures pause remote compiles (the breaker,
  // 5 s at first), which must not stop a hit, since a hit never needs the server.
  for (const n of [100, 101]) {
    writeFileSync(join(proj, "h.h"), `#define N ${n}\n`);
    const r = await cc(stack, proj);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await lastTask(stack)).outcome, "localFallback");
  }

  // The old content again (new mtime): the key is the content's, so it hits again.
  writeFileSync(join(proj, "h.h"), "#define N 41\n");
  const r4 = await cc(stack, proj);
  assert.equal(r4.code, 0, r4.stderr);
  assert.equal((await lastTask(stack)).localCacheHit, true);
  assert.ok(readFileSync(join(proj, "a.o")).equals(obj));
  assert.equal(entries(loc).length, 1);
});

test("include manifests on the hit path: a header added that shadows, an edited header (same size) miss; the old state and an mtime-only change hit, always the right object", async () => {
  const { proj, stack } = await setup((loc) => ({ GOMA_LOCAL_OUTPUT_CACHE_DIR: loc }));
  mkdirSync(join(proj, "first"));
  mkdirSync(join(proj, "second"));
  rmSync(join(proj, "h.h"));
  writeFileSync(join(proj, "second", "h.h"), "#define N 41\n");
  // Old mtimes everywhere, so the proxy's scans leave manifests (a path modified within 2 s leaves none).
  const old = new Date("2020-01-01T00:00:00Z");
  const age = (...rel: string[]) => rel.forEach((f) => utimesSync(join(proj, f), old, old));
  age("a.c", "second/h.h", "first", "second", ".");
  const args = ["gcc", "-O2", "-MD", "-Ifirst", "-Isecond", "-c", "a.c", "-o", "a.o"];
  const local = async (): Promise<Buffer> => {
    const r = await run(args, { cwd: proj });
    assert.equal(r.code, 0, r.stderr);
    const o = readFileSync(join(proj, "a.o"));
    rmSync(join(proj, "a.o"));
    rmSync(join(proj, "a.d"));
    age("."); // the local compile's outputs came and went: the project directory is old again
    return o;
  };
  const compile = async (want: "hit" | "miss", obj: Buffer, what: string) => {
    const r = await cc(stack, proj, args);
    assert.equal(r.code, 0, r.stderr);
    const t = await lastTask(stack);
    assert.equal(t.localCacheHit === true, want === "hit", `${what}: ${t.outcome} ${t.reason ?? ""}`);
    assert.ok(readFileSync(join(proj, "a.o")).equals(obj), `${what}: the object a local compile writes`);
    rmSync(join(proj, "a.o"));
    rmSync(join(proj, "a.d"));
    age(".");
  };
  const obj41 = await local();
  await compile("miss", obj41, "first compile");
  await compile("hit", obj41, "same sources");
  const manifestHits = async () => Number(/include\.manifestHits<\/td><td>(\d+)</.exec(await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/statz`)).text())?.[1]);
  assert.ok((await manifestHits()) >= 1, "the hit was listed from the manifest");

  writeFileSync(join(proj, "first", "h.h"), "#define N 7\n"); // shadows second/h.h
  const obj7 = await local();
  assert.ok(!obj7.equals(obj41));
  await compile("miss", obj7, "a header added earlier on the search path");

  rmSync(join(proj, "first", "h.h"));
  await compile("hit", obj41, "the shadowing header removed again");

  writeFileSync(join(proj, "second", "h.h"), "#define N 42\n"); // same size, new content, new mtime
  const obj42 = await local();
  await compile("miss", obj42, "an edited header");
  const later = new Date("2021-01-01T00:00:00Z");
  utimesSync(join(proj, "second", "h.h"), later, later);
  await compile("hit", obj42, "an mtime-only change");
});

test("a flipped byte in a stored entry: a miss, the entry removed, the compile still right (and stored again)", async () => {
  const { proj, loc, stack } = await setup((loc) => ({ GOMA_LOCAL_OUTPUT_CACHE_DIR: loc }));
  const [localObj, localDep] = await localOutputs(proj);
  assert.equal((await cc(stack, proj)).code, 0);
  assert.equal((await cc(stack, proj)).code, 0); // a hit: waits for the store, so the entry is on disk
  assert.equal((await lastTask(stack)).localCacheHit, true);
  const [file] = entries(loc);
  assert.ok(file);
  const key = file.split("/").pop()!;
  const bytes = readFileSync(file);
  // A byte inside the stored object (past the 36-byte prefix and the JSON header).
  const i = bytes.byteLength - 2000;
  bytes[i]! ^= 0x10;
  writeFileSync(file, bytes);
  rmSync(join(proj, "a.o"));

  const r = await cc(stack, proj);
  assert.equal(r.code, 0, r.stderr);
  const t = await lastTask(stack);
  assert.equal(t.outcome, "cacheHit", "answered by the server's action cache");
  assert.notEqual(t.localCacheHit, true, "not by the corrupt entry");
  assert.equal(await statz(stack, "corrupt"), 1);
  assert.ok(readFileSync(join(proj, "a.o")).equals(localObj), "the object is the right one");
  assert.ok(readFileSync(join(proj, "a.d")).equals(localDep));

  assert.equal((await cc(stack, proj)).code, 0); // stored again from the server's answer: a hit
  assert.equal((await lastTask(stack)).localCacheHit, true);
  const again = decodeEntry(key, new Uint8Array(readFileSync(file)));
  assert.notEqual(typeof again, "string", `the entry on disk is valid again: ${String(again)}`);
  assert.equal(await statz(stack, "corrupt"), 1);
});

test("GC: with at most 3 entries and a threshold of 2, six different compiles leave the 2 newest", async () => {
  const { proj, loc, stack } = await setup((loc) => ({
    GOMA_LOCAL_OUTPUT_CACHE_DIR: loc,
    GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "3",
    GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS: "2",
  }));
  for (let n = 0; n < 6; n++) {
    writeFileSync(join(proj, `f${n}.c`), `int f${n}(void) { return ${n}; }\n`);
    const r = await cc(stack, proj, ["gcc", "-O2", "-c", `f${n}.c`, "-o", `f${n}.o`]);
    assert.equal(r.code, 0, r.stderr);
  }
  await stack.stopProxy(); // the proxy's stop waits for queued stores and their GC
  const left = entries(loc);
  assert.equal(left.length, 2, left.join("\n"));
  const names = left.map((f) => {
    const e = decodeEntry(f.split("/").pop()!, new Uint8Array(readFileSync(f)));
    assert.notEqual(typeof e, "string");
    return typeof e === "string" ? "" : e.files[0]!.name;
  });
  assert.deepEqual(names.sort(), ["f4.o", "f5.o"]);
});

test("off when GOMA_LOCAL_OUTPUT_CACHE_DIR is unset: nothing cached, a compile with the server stopped runs locally", async () => {
  const { proj, stack } = await setup(() => ({}));
  assert.equal((await cc(stack, proj)).code, 0);
  assert.equal((await lastTask(stack)).outcome, "remote");
  await stack.stopServer();
  const r = await cc(stack, proj);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await lastTask(stack)).outcome, "localFallback");
  assert.equal((await stack.stats()).localCacheHit, 0);
  const html = await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/statz`)).text();
  assert.doesNotMatch(html, /localOutputCache/);
});
