/**
 * Corruption end to end (issue 10 §4): a real build (Debian's lua 5.4 sources with its -g -O2 flags)
 * through the compiled binary, `goma cc` → proxy → server → embedded backend; then one byte is flipped in
 * stored CAS blobs and action-cache entries (seeded, reproducible: GOMA_CORRUPTION_SEED), and the build
 * runs again. Every object must equal a local compile's, byte for byte; the server must report the
 * corruption; no compile may fall back locally (a corrupt blob is re-uploaded or rebuilt, never a goma
 * failure, and never an unrelated file's fallback).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gomaBin, run, startStack, type GomaStack } from "./harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SEED = Number(process.env.GOMA_CORRUPTION_SEED ?? 10);
const FILES = ["lapi", "lauxlib", "lbaselib", "lcode", "lctype", "ldebug", "ldo", "lfunc", "lmem", "lobject", "lopcodes", "lstring", "ltm", "lzio"];
const FLAGS = ["-g", "-O2", "-Wall", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"];
const OLD = new Date("2020-01-01T00:00:00Z");

let stack: GomaStack;
let top: string;
let src: string;
/** The local compiler's object for each file. */
const localObjects = new Map<string, Buffer>();

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The stored entries of a disk store (`<dir>/<xx>/<file>`, tmp/ excluded), sorted. */
function entries(dir: string): string[] {
  const out: string[] = [];
  for (const sub of readdirSync(dir).sort()) {
    if (sub === "tmp" || !statSync(join(dir, sub)).isDirectory()) continue;
    for (const f of readdirSync(join(dir, sub)).sort()) out.push(join(dir, sub, f));
  }
  return out;
}

/** Flips one bit of one byte of `path` at a random offset, keeping its size and mode. */
function flip(path: string, rnd: () => number): void {
  const data = readFileSync(path);
  const at = Math.floor(rnd() * data.byteLength);
  data[at] = data[at]! ^ (1 << Math.floor(rnd() * 8));
  const mode = statSync(path).mode & 0o777;
  chmodSync(path, 0o644);
  writeFileSync(path, data);
  chmodSync(path, mode);
}

const obj = (f: string) => `obj/${f}.o`;
const args = (f: string) => ["gcc", ...FLAGS, "-c", `${f}.c`, "-o", obj(f)];

/** Compiles every file through goma, two at a time, and checks each object against the local one. */
async function gomaBuild(): Promise<void> {
  rmSync(join(src, "obj"), { recursive: true, force: true });
  mkdirSync(join(src, "obj"));
  const queue = [...FILES];
  await Promise.all([0, 1].map(async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await run([gomaBin(), "cc", ...args(f)], { cwd: src, env: stack.env });
      assert.equal(r.code, 0, `${f}.c: ${r.stderr}`);
    }
  }));
  for (const f of FILES) assert.ok(readFileSync(join(src, obj(f))).equals(localObjects.get(f)!), `${obj(f)} differs from the local compile's`);
}

before(async () => {
  const out = execFileSync("bash", [join(REPO, "scripts/fetch-sources.sh"), "lua5.4"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const m = /^lua5\.4: (.+)$/m.exec(out);
  assert.ok(m, `fetch-sources.sh did not name the lua5.4 directory: ${out}`);
  top = mkdtempSync(join(tmpdir(), "goma-corruption-"));
  cpSync(join(resolve(REPO, m[1]!), "src"), join(top, "src"), { recursive: true, preserveTimestamps: true });
  src = join(top, "src");
  const deb = join(src, "lua5.4-deb-multiarch.h");
  writeFileSync(deb, '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"\n#endif\n');
  utimesSync(deb, OLD, OLD);
  mkdirSync(join(src, "obj"));
  for (const f of FILES) {
    const r = await run(args(f), { cwd: src });
    assert.equal(r.code, 0, r.stderr);
    localObjects.set(f, readFileSync(join(src, obj(f))));
  }
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
  if (top) rmSync(top, { recursive: true, force: true });
});

test("flipped bytes in stored blobs and action-cache entries: the rebuild's objects equal a local build's, the corruption is reported, nothing falls back", async () => {
  const s0 = await stack.stats();
  await gomaBuild();
  const s1 = await stack.stats();
  assert.equal(s1.remote! + s1.cacheHit! - s0.remote! - s0.cacheHit!, FILES.length, "the first build ran on the backend");

  const backend = join(stack.tmp, "server", "backend");
  const cas = entries(join(backend, "cas"));
  const ac = entries(join(backend, "ac"));
  assert.ok(cas.length > FILES.length && ac.length >= FILES.length, `the stores hold the build (cas ${cas.length}, ac ${ac.length})`);
  const rnd = prng(SEED);
  const pick = <T>(xs: T[], n: number) => {
    const copy = [...xs];
    return Array.from({ length: Math.min(n, copy.length) }, () => copy.splice(Math.floor(rnd() * copy.length), 1)[0]!);
  };
  // Half the CAS (objects, sources, headers, Directories, Commands, Actions, the wrapper, the manifest)
  // and half the action cache; every file of the build is touched by some flip.
  const flippedCas = pick(cas, Math.ceil(cas.length / 2));
  const flippedAc = pick(ac, Math.ceil(ac.length / 2));
  for (const p of [...flippedCas, ...flippedAc]) flip(p, rnd);

  const logBefore = stack.serverLog().length;
  await gomaBuild();
  const s2 = await stack.stats();
  assert.equal(s2.localFallback! - s1.localFallback!, 0, `no compile fell back locally: ${JSON.stringify((await stack.tasks()).filter((t) => t.outcome === "localFallback").map((t) => t.reason))}`);
  assert.equal(s2.failed! - s1.failed!, 0);
  const log = stack.serverLog().slice(logBefore);
  const reported = (log.match(/(CAS|AC) integrity: .* corrupt/g) ?? []).length;
  assert.ok(reported > 0, `the server reported the corruption:\n${log}`);
  assert.ok((log.match(/AC integrity: /g) ?? []).length > 0, "corrupt action-cache entries were reported");

  // And the stores are whole again: a third build is served from the action cache, still identical.
  const s3a = await stack.stats();
  await gomaBuild();
  const s3 = await stack.stats();
  assert.equal(s3.cacheHit! - s3a.cacheHit!, FILES.length, "every compile of the third build is a cache hit");
  assert.equal(s3.localFallback! - s3a.localFallback!, 0);
});
