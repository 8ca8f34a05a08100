import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";
import { withSizeLimit } from "./size-limited-store.ts";

const KiB = 1024;
/** A blob of 8 KiB (two 4 KiB blocks), distinct per `tag`. */
const blob = (tag: string) => {
  const data = new Uint8Array(8 * KiB).fill(tag.charCodeAt(0));
  return { data, digest: digestOf(data) };
};

describe("SizeLimitedCas over MemoryCas", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-sl-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A 24 KiB budget (three blobs) over memory stores. */
  const open = () => withSizeLimit(24 * KiB, new MemoryCas(), new MemoryActionCache());

  test("createWriter() commits and putFile() imports count against the budget and evict the oldest", async () => {
    const { cas, limit } = await open();
    const a = blob("a"), b = blob("b"), c = blob("c");
    await cas.put(a.digest, a.data);
    const w = await cas.createWriter(b.digest);
    await w.write(b.data);
    assert.equal(limit.stats().entries, 1, "an uncommitted write is not accounted");
    await w.commit();
    const src = join(dir, "c");
    await writeFile(src, c.data);
    await cas.putFile(src);
    assert.equal(limit.stats().totalBytes, 24 * KiB);
    await cas.put(blob("d").digest, blob("d").data); // 32 KiB > 24: evict down to ≤ 21.6 KiB → a, b go
    assert.deepEqual(await Promise.all([a, b, c].map((x) => cas.has(x.digest))), [false, false, true]);
    assert.equal(limit.stats().evictedEntries, 2);
  });

  test("a read to the end and a materialize() make a blob the newest", async () => {
    const { cas } = await open();
    const [a, b, c] = [blob("a"), blob("b"), blob("c")];
    for (const x of [a, b, c]) await cas.put(x.digest, x.data);
    for await (const _ of cas.read(a.digest)) { /* drain */ }
    await cas.materialize(b.digest, join(dir, "b"), false);
    await cas.put(blob("e").digest, blob("e").data); // evicts the two oldest: c, then a
    assert.deepEqual(await Promise.all([a, b, c].map((x) => cas.has(x.digest))), [false, true, false]);
  });

  test("action-cache entries share the budget and are evicted like blobs", async () => {
    const { cas, ac, limit } = await open();
    const action = digestOf(new TextEncoder().encode("action"));
    await ac.put("", action, { exitCode: 0, stdoutRaw: new TextEncoder().encode("compiled") }); // one 4 KiB block
    for (const t of ["f", "g", "h"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await ac.get("", action), undefined, "the oldest entry, the AC's, was evicted");
    assert.ok(limit.stats().totalBytes <= 24 * KiB);
  });

  test("pin() keeps blobs through eviction until released", async () => {
    const { cas } = await open();
    const a = blob("a");
    await cas.put(a.digest, a.data);
    const release = cas.pin([a.digest]);
    for (const t of ["p", "q", "r"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await cas.has(a.digest), true);
    release();
    for (const t of ["s", "t"]) await cas.put(blob(t).digest, blob(t).data);
    assert.equal(await cas.has(a.digest), false);
  });
});
