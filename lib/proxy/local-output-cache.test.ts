/**
 * The local output cache without a proxy: the key's normalization (what is dropped, what is kept), the
 * entry format's verification, store/lookup, corrupt entries, GC by items and bytes, the limits' variables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IExecReq } from "../goma/proto.ts";
import {
  normalizeForLocalCache, localCacheKey, encodeEntry, decodeEntry, LocalOutputCache,
  type CachedResult,
} from "./local-output-cache.ts";
import { localOutputCacheConfigFromEnv, localOutputCacheLimitsFromEnv } from "../config/proxy-config.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function req(): IExecReq {
  return {
    commandSpec: { name: "gcc", version: "12.2.0", target: "x86_64-linux-gnu", binaryHash: enc("abc"), localCompilerPath: "/usr/bin/gcc", size: 10 },
    arg: ["gcc", "-c", "a.c", "-o", "a.o"],
    env: ["LANG=C"],
    cwd: "/src",
    input: [
      { filename: "a.c", hashKey: "h-a" },
      { filename: "inc/x.h", hashKey: "h-x", content: { blobType: 1, content: enc("#define X 1\n") } },
      { filename: "/usr/lib/gcc/cc1", hashKey: "" },
    ],
    requesterInfo: { pid: 1, retry: 0, compilerProxyId: "me@host:1/1", buildId: "b1" },
    cachePolicy: 1,
    expectedOutputFiles: ["a.o"],
    toolchainSpecs: [{ path: "/usr/lib/gcc/cc1", hash: "h-cc1", size: 5 }],
    hermeticMode: true,
    toolchainIncluded: true,
  };
}

test("the key ignores requester info, cache policy, input order, input content and a toolchain input's hash key", () => {
  const k = localCacheKey(req());
  const r = req();
  r.requesterInfo = { pid: 99, retry: 3, compilerProxyId: "other@host:2/2", buildId: "b2" };
  r.cachePolicy = 3;
  r.input = [...r.input!].reverse().map((i) => ({ filename: i.filename, hashKey: i.filename === "/usr/lib/gcc/cc1" ? "h-sent-with-content" : i.hashKey }));
  assert.equal(localCacheKey(r), k);
  const n = normalizeForLocalCache(req());
  assert.equal(n.requesterInfo, undefined);
  assert.equal(n.cachePolicy, undefined);
  assert.deepEqual(n.input!.map((i) => i.filename), ["/usr/lib/gcc/cc1", "a.c", "inc/x.h"]);
  assert.ok(n.input!.every((i) => !("content" in i)));
  assert.equal(req().requesterInfo!.pid, 1, "pure: the request is not changed");
});

test("the key changes with anything that can change the outputs", () => {
  const k = localCacheKey(req());
  const variants: [string, (r: IExecReq) => void][] = [
    ["cwd", (r) => void (r.cwd = "/other")],
    ["an argument", (r) => void (r.arg = [...r.arg!, "-O2"])],
    ["env", (r) => void (r.env = ["LANG=de_DE.UTF-8"])],
    ["compiler hash", (r) => void (r.commandSpec!.binaryHash = enc("abd"))],
    ["compiler version", (r) => void (r.commandSpec!.version = "12.3.0")],
    ["an input's hash", (r) => void (r.input![1] = { filename: "inc/x.h", hashKey: "h-x2" })],
    ["an input's name", (r) => void (r.input![0] = { filename: "b.c", hashKey: "h-a" })],
    ["an extra input", (r) => void r.input!.push({ filename: "inc/y.h", hashKey: "h-y" })],
    ["expected outputs", (r) => void (r.expectedOutputFiles = ["a.o", "a.d"])],
    ["a toolchain spec's hash", (r) => void (r.toolchainSpecs = [{ path: "/usr/lib/gcc/cc1", hash: "h-cc1b", size: 5 }])],
  ];
  const seen = new Set([k]);
  for (const [what, change] of variants) {
    const r = req();
    change(r);
    const k2 = localCacheKey(r);
    assert.notEqual(k2, k, `${what} must change the key`);
    seen.add(k2);
  }
  assert.equal(seen.size, variants.length + 1);
  assert.match(k, /^[0-9a-f]{64}$/);
});

const result = (obj = "OBJ"): CachedResult => ({
  files: [{ name: "a.o", content: enc(obj), isExecutable: false }, { name: "a.d", content: enc("a.o: a.c\n"), isExecutable: false }],
  exitStatus: 0,
  stdout: enc(""),
  stderr: enc("a.c:1: warning: x\n"),
});

test("an entry round-trips, and every flipped byte or truncation makes it invalid", () => {
  const key = "ab".repeat(32);
  const data = encodeEntry(key, result());
  const back = decodeEntry(key, data);
  assert.ok(typeof back !== "string", String(back));
  assert.deepEqual(back.files.map((f) => [f.name, new TextDecoder().decode(f.content)]), [["a.o", "OBJ"], ["a.d", "a.o: a.c\n"]]);
  assert.equal(new TextDecoder().decode(back.stderr), "a.c:1: warning: x\n");
  for (let i = 0; i < data.byteLength; i++) {
    const bad = data.slice();
    bad[i]! ^= 0x01;
    assert.equal(typeof decodeEntry(key, bad), "string", `byte ${i} flipped`);
  }
  for (const n of [0, 10, 36, data.byteLength - 1]) assert.equal(typeof decodeEntry(key, data.subarray(0, n)), "string", `truncated to ${n}`);
  assert.equal(typeof decodeEntry("cd".repeat(32), data), "string", "another key's entry");
});

test("store then lookup; a lookup during a store waits for it; non-zero exit is not stored; a corrupt entry is a miss and removed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-loc-"));
  try {
    const c = new LocalOutputCache(dir, localOutputCacheLimitsFromEnv({}));
    const key = "01".repeat(32);
    assert.equal(await c.lookup(key), undefined);
    const storing = c.store(key, result());
    const hit = await c.lookup(key); // no await of the store: the lookup waits for it
    await storing;
    assert.equal(new TextDecoder().decode(hit!.files[0]!.content), "OBJ");
    assert.ok(existsSync(join(dir, "01", key)));
    await c.store("02".repeat(32), { ...result(), exitStatus: 1 });
    assert.equal(existsSync(join(dir, "02")), false);
    // Concurrent stores of one key: one entry, valid.
    await Promise.all([c.store("03".repeat(32), result("X")), c.store("03".repeat(32), result("Y"))]);
    assert.ok((await c.lookup("03".repeat(32))) !== undefined);
    const p = join(dir, "01", key);
    const bytes = readFileSync(p);
    bytes[bytes.byteLength - 12]! ^= 0x40;
    writeFileSync(p, bytes);
    assert.equal(await c.lookup(key), undefined);
    assert.equal(existsSync(p), false, "the corrupt entry is removed");
    assert.equal(c.stats().corrupt, 1);
    assert.deepEqual(readdirSync(join(dir, "01")), [], "no temp files left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("GC: above the maximum items or bytes, the least recently used go, down to the threshold", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-loc-gc-"));
  try {
    const keys = Array.from({ length: 6 }, (_, i) => i.toString(16).padStart(2, "0").repeat(32));
    const c = new LocalOutputCache(dir, { maxBytes: 1e9, thresholdBytes: 1e9, maxItems: 4, thresholdItems: 2 });
    for (const k of keys.slice(0, 4)) await c.store(k, result());
    assert.ok(await c.lookup(keys[0]!), "keys[0] used again: now the most recent");
    await c.store(keys[4]!, result());
    const left = keys.filter((k) => existsSync(c.pathOf(k)));
    assert.deepEqual(left, [keys[0], keys[4]]);
    assert.equal(c.stats().entries, 2);
    assert.equal(c.stats().evicted, 3);
    // Bytes: entries of one size; the maximum holds 3, the threshold 1.
    const size = encodeEntry(keys[5]!, result()).byteLength;
    const c2 = new LocalOutputCache(dir, { maxBytes: 3 * size, thresholdBytes: size, maxItems: 100, thresholdItems: 100 });
    await c2.whenReady();
    await c2.store(keys[5]!, result());
    await c2.store(keys[1]!, result());
    assert.deepEqual(keys.filter((k) => existsSync(c2.pathOf(k))), [keys[1]], "over 3 entries' bytes: down to one, the newest");
    assert.ok(c2.stats().bytes <= size);
    // An entry above the threshold on its own is not kept (it would flush everything, then itself).
    await c2.store(keys[2]!, result("x".repeat(2 * size)));
    assert.equal(existsSync(c2.pathOf(keys[2]!)), false);
    assert.ok(existsSync(c2.pathOf(keys[1]!)), "the others stay");
    assert.equal(c2.stats().tooLarge, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("limits: Goma's defaults and variables; malformed values refused; off when the directory is unset", () => {
  assert.deepEqual(localOutputCacheLimitsFromEnv({}), { maxBytes: 30720 * 1024 * 1024, thresholdBytes: 20480 * 1024 * 1024, maxItems: 100000, thresholdItems: 80000 });
  assert.equal(localOutputCacheLimitsFromEnv({ GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "10", GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS: "5" }).thresholdItems, 5);
  assert.throws(() => localOutputCacheLimitsFromEnv({ GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "lots" }), /not a non-negative number/);
  assert.throws(() => localOutputCacheLimitsFromEnv({ GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "10" }), /THRESHOLD_ITEMS is above/);
  assert.equal(localOutputCacheConfigFromEnv({}), undefined);
  assert.equal(localOutputCacheConfigFromEnv({ GOMA_LOCAL_OUTPUT_CACHE_DIR: "" }), undefined);
});
