import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { DiskActionCache } from "./disk-action-cache.ts";
import { DiskCas } from "./disk-cas.ts";
import { LOW_WATER_RATIO } from "./size-limit.ts";
import { withSizeLimit } from "./size-limited-store.ts";

const KiB = 1024;
/** A blob of `n` bytes, distinct per `tag`. */
const blob = (tag: string, n = 8 * KiB) => {
  const data = new Uint8Array(n).fill(tag.charCodeAt(0));
  data.set(new TextEncoder().encode(tag));
  return { digest: digestOf(data), data };
};

/** Bytes the stores' entry files occupy (4 KiB blocks), tmp/ excluded. */
async function usedBytes(dir: string): Promise<number> {
  let n = 0;
  for (const sub of await readdir(dir)) {
    if (sub === "tmp") continue;
    for (const f of await readdir(join(dir, sub))) n += Math.ceil((await stat(join(dir, sub, f))).size / 4096) * 4096;
  }
  return n;
}

describe("CacheSizeLimit (withSizeLimit: SizeLimitedCas and SizeLimitedActionCache over the disk stores)", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-limit-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  const open = async (name: string, maxBytes: number) => {
    const disk = await DiskCas.open(join(dir, name, "cas"));
    const { cas, ac, limit } = await withSizeLimit(maxBytes, disk, await DiskActionCache.open(join(dir, name, "ac")));
    return { disk, cas, ac, limit };
  };

  test("put() beyond the limit evicts the least recently used blobs, down to the low-water mark", async () => {
    const { disk, cas, limit } = await open("lru", 40 * KiB);
    const b = ["a", "b", "c", "d"].map((t) => blob(t));
    for (const x of b) await cas.put(x.digest, x.data);
    assert.equal(limit.stats().totalBytes, 32 * KiB);
    assert.ok(await cas.get(b[0]!.digest), "reading a makes it the newest");
    await cas.put(blob("e").digest, blob("e").data); // 40 KiB: at the limit, nothing evicted
    assert.equal(limit.stats().evictedEntries, 0);
    await cas.put(blob("f").digest, blob("f").data); // 48 KiB > 40: evict b, c (oldest) → 32 KiB ≤ 36 KiB
    assert.deepEqual(await Promise.all(["a", "b", "c", "d", "e", "f"].map((t) => cas.has(blob(t).digest))),
      [true, false, false, true, true, true]);
    assert.ok(limit.stats().totalBytes <= 40 * KiB * LOW_WATER_RATIO);
    assert.equal(limit.stats().evictedEntries, 2);
    assert.equal(await usedBytes(disk.dir), limit.stats().totalBytes, "the accounting matches the disk");
  });

  test("a pinned blob is not evicted; once released it is", async () => {
    const { cas, limit } = await open("pin", 20 * KiB);
    const old = blob("p");
    await cas.put(old.digest, old.data);
    const release = cas.pin([old.digest]);
    for (const t of ["q", "r", "s"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await cas.has(old.digest), true, "pinned: kept although oldest");
    release();
    for (const t of ["u", "v"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await cas.has(old.digest), false);
    assert.ok(limit.stats().totalBytes <= 20 * KiB);
  });

  test("action-cache entries share the budget; an entry whose blobs were evicted no longer verifies", async () => {
    const { cas, ac, limit } = await open("ac", 24 * KiB);
    const out = blob("o");
    await cas.put(out.digest, out.data);
    const action = digestOf(new TextEncoder().encode("action"));
    await ac.put("", action, { exitCode: 0, outputFiles: [{ path: "x.o", digest: out.digest }] });
    assert.equal(limit.stats().entries, 2);
    for (const t of ["w", "x", "y"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await cas.verify(out.digest), false, "the output blob (oldest) was evicted");
    assert.ok(limit.stats().totalBytes <= 24 * KiB);
  });

  test("withSizeLimit() accounts for what is on disk, oldest first, and enforces a smaller limit at once", async () => {
    const first = await open("reopen", 1024 * KiB);
    // Five writes can share one file-system timestamp tick: give them distinct, ordered mtimes (a second apart).
    const t0 = Date.now() / 1000 - 60;
    for (const [i, t] of ["1", "2", "3", "4", "5"].entries()) {
      await first.cas.put(blob(t).digest, blob(t).data);
      await utimes(first.disk.pathOf(blob(t).digest), t0 + i, t0 + i);
    }
    const again = await open("reopen", 20 * KiB);
    assert.ok(again.limit.stats().totalBytes <= 20 * KiB);
    assert.equal(await again.cas.has(blob("5").digest), true, "the newest survive");
    assert.equal(await again.cas.has(blob("1").digest), false);
    assert.equal(await usedBytes(again.disk.dir), again.limit.stats().totalBytes);
  });

  test("withSizeLimit() rejects a limit that is not a positive number of bytes", async () => {
    const cas = await DiskCas.open(join(dir, "bad", "cas"));
    const ac = await DiskActionCache.open(join(dir, "bad", "ac"));
    await assert.rejects(withSizeLimit(0, cas, ac), RangeError);
    await assert.rejects(withSizeLimit(-1, cas, ac), RangeError);
  });
});
