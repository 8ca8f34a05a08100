import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";
import { buildStoreStack } from "./store-stack.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const KiB = 1024;

describe("buildStoreStack()", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-stack-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  test("builds disk stores under dir/cas and dir/ac with the default 10 GiB limit", async () => {
    const s = await buildStoreStack({ dir: join(dir, "disk") });
    assert.equal(s.describe, `SizeLimitedCas(10240 MiB) → DiskCas(${join(dir, "disk", "cas")})`);
    const data = enc("on disk");
    await s.cas.put(digestOf(data), data);
    await s.ac.put("", digestOf(enc("a")), { exitCode: 0 });
    assert.ok((await stat(join(dir, "disk", "cas", digestOf(data).hash.slice(0, 2), digestOf(data).hash))).isFile());
    assert.deepEqual(s.stats(), {
      corruptBlobs: 0, corruptEntries: 0,
      size: { totalBytes: 8 * KiB, entries: 2, evictedEntries: 0, evictedBytes: 0, maxBytes: 10 * 1024 * KiB * KiB },
    });
  });

  test("maxBytes 0 means no limit: no size counters", async () => {
    const s = await buildStoreStack({ dir: join(dir, "nolimit"), maxBytes: 0 });
    assert.equal(s.describe, `DiskCas(${join(dir, "nolimit", "cas")})`);
    assert.equal(s.stats().size, undefined);
  });

  test("inMemory builds memory stores that evict under the shared budget", async () => {
    const s = await buildStoreStack({ inMemory: true, maxBytes: 20 * KiB });
    assert.equal(s.describe, "SizeLimitedCas(20480 bytes) → MemoryCas");
    const blobs = ["a", "b", "c"].map((t) => new Uint8Array(8 * KiB).fill(t.charCodeAt(0)));
    for (const b of blobs) await s.cas.put(digestOf(b), b);
    assert.equal(await s.cas.has(digestOf(blobs[0]!)), false, "the oldest was evicted");
    assert.equal(await s.cas.has(digestOf(blobs[2]!)), true);
    assert.equal(s.stats().size!.evictedEntries, 1);
    assert.ok(s.stats().size!.totalBytes <= 20 * KiB);
  });

  test("slow stores put a read-through layer on top", async () => {
    const slow = { cas: new MemoryCas(), ac: new MemoryActionCache() };
    const s = await buildStoreStack({ inMemory: true, maxBytes: 0, slow });
    assert.equal(s.describe, "ReadThroughCas → MemoryCas");
    const data = enc("remote");
    await slow.cas.put(digestOf(data), data);
    assert.equal(Buffer.from((await s.cas.get(digestOf(data)))!).toString(), "remote");
  });

  test("rejects a negative limit and a disk stack without dir with RangeError", async () => {
    await assert.rejects(buildStoreStack({ inMemory: true, maxBytes: -1 }), RangeError);
    await assert.rejects(buildStoreStack({ inMemory: true, maxBytes: 1.5 }), RangeError);
    await assert.rejects(buildStoreStack({}), (e: unknown) => e instanceof RangeError && /needs a directory/.test(e.message));
  });
});
