import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Digest, digestOf } from "../digest/digest.ts";
import { ForwardingCas } from "./forwarding.ts";
import { Code, GomaError } from "../util/status.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";
import { ReadThroughActionCache, ReadThroughCas } from "./read-through-cas.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const blob = (s: string) => ({ data: enc(s), digest: digestOf(enc(s)) });

describe("ReadThroughCas", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-rt-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  test("get() of a blob only the slow store has returns it and fills the fast store", async () => {
    const fast = new MemoryCas(), slow = new MemoryCas();
    const cas = new ReadThroughCas(fast, slow);
    const b = blob("from slow");
    await slow.put(b.digest, b.data);
    assert.equal(await fast.has(b.digest), false);
    assert.equal(Buffer.from((await cas.get(b.digest))!).toString(), "from slow");
    assert.equal(await fast.verify(b.digest), true, "filled");
    await slow.removeEntry(slow.entryKey(b.digest));
    assert.equal(Buffer.from((await cas.get(b.digest))!).toString(), "from slow", "served by the fast store now");
  });

  test("writes go to the slow store only: put(), putFile() and createWriter()", async () => {
    const fast = new MemoryCas(), slow = new MemoryCas();
    const cas = new ReadThroughCas(fast, slow);
    const a = blob("put"), w = blob("written");
    await cas.put(a.digest, a.data);
    const writer = await cas.createWriter(w.digest);
    await writer.write(w.data);
    await writer.commit();
    const src = join(dir, "f");
    await writeFile(src, "file");
    const f = await cas.putFile(src);
    assert.equal(fast.size, 0);
    assert.deepEqual(await slow.findMissing([a.digest, w.digest, f]), []);
  });

  test("findMissing() reports only blobs neither store has, asking the slow store only about the fast store's misses", async () => {
    const fast = new MemoryCas(), slow = new MemoryCas();
    const asked: number[] = [];
    const counting = new class extends ForwardingCas {
      override findMissing(ds: Digest[]) {
        asked.push(ds.length);
        return super.findMissing(ds);
      }
    }(slow);
    const cas = new ReadThroughCas(fast, counting);
    const f = blob("fast"), s = blob("slow"), none = blob("none");
    await fast.put(f.digest, f.data);
    await slow.put(s.digest, s.data);
    assert.deepEqual(await cas.findMissing([f.digest, s.digest, none.digest]), [none.digest]);
    assert.deepEqual(asked, [2]);
    assert.deepEqual(await cas.findMissing([f.digest]), []);
    assert.deepEqual(asked, [2], "the slow store is not asked when the fast one has everything");
  });

  test("read() and materialize() fill the fast store from the slow one, then serve from it", async () => {
    const fast = new MemoryCas(), slow = new MemoryCas();
    const cas = new ReadThroughCas(fast, slow);
    const big = blob("z".repeat(200_000));
    await slow.put(big.digest, big.data);
    let n = 0;
    for await (const c of cas.read(big.digest, 0, 0, 64 * 1024)) n += c.byteLength;
    assert.equal(n, 200_000);
    assert.equal(await fast.verify(big.digest), true);
    const small = blob("materialized");
    await slow.put(small.digest, small.data);
    await cas.materialize(small.digest, join(dir, "m"), false);
    assert.equal(await readFile(join(dir, "m"), "utf8"), "materialized");
    assert.equal(await fast.has(small.digest), true);
  });

  test("read() and materialize() of a blob in neither store fail with NotFound", async () => {
    const cas = new ReadThroughCas(new MemoryCas(), new MemoryCas());
    const none = blob("nowhere");
    await assert.rejects(async () => { for await (const _ of cas.read(none.digest)) { /* drain */ } },
      (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
    await assert.rejects(cas.materialize(none.digest, join(dir, "none"), false),
      (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
  });
});

describe("ReadThroughActionCache", () => {
  const action = digestOf(enc("action"));

  test("get() fills the fast cache from the slow one", async () => {
    const fast = new MemoryActionCache(), slow = new MemoryActionCache();
    await slow.put("", action, { exitCode: 3 });
    const ac = new ReadThroughActionCache(fast, slow);
    assert.equal((await ac.get("", action))!.exitCode, 3);
    assert.equal((await fast.get("", action))!.exitCode, 3);
    assert.equal(await ac.get("other", action), undefined);
  });

  test("put() replaces the entry in both caches, so a filled copy never goes stale", async () => {
    const fast = new MemoryActionCache(), slow = new MemoryActionCache();
    const ac = new ReadThroughActionCache(fast, slow);
    await ac.put("", action, { exitCode: 1 });
    assert.equal((await ac.get("", action))!.exitCode, 1);
    await ac.put("", action, { exitCode: 0 });
    assert.equal((await ac.get("", action))!.exitCode, 0);
    assert.equal((await slow.get("", action))!.exitCode, 0);
  });
});
