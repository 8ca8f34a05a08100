import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("MemoryCas", () => {
  test("put() keeps a copy and get() returns one: changing either buffer does not change the store", async () => {
    const cas = new MemoryCas();
    const data = enc("immutable");
    const d = digestOf(data);
    await cas.put(d, data);
    data[0] = 0x58;
    const got = (await cas.get(d))!;
    assert.equal(Buffer.from(got).toString(), "immutable");
    got[0] = 0x58;
    assert.equal(Buffer.from((await cas.get(d))!).toString(), "immutable");
    assert.equal(cas.corruptBlobs, 0);
  });

  test("listEntries() and removeEntry() (the size limit's capability) see every stored blob", async () => {
    const cas = new MemoryCas();
    const a = enc("a"), b = enc("bb");
    await cas.put(digestOf(a), a);
    await cas.put(digestOf(b), b);
    assert.deepEqual((await cas.listEntries()).map((e) => [e.key, e.sizeBytes]).sort(),
      [[cas.entryKey(digestOf(a)), 1], [cas.entryKey(digestOf(b)), 2]].sort());
    await cas.removeEntry(cas.entryKey(digestOf(a)));
    assert.equal(await cas.has(digestOf(a)), false);
    assert.equal(cas.size, 1);
    assert.equal(cas.totalBytes, 2);
  });
});

describe("MemoryActionCache", () => {
  test("get() returns a decoded copy: changing it does not change the entry", async () => {
    const ac = new MemoryActionCache();
    const action = digestOf(enc("action"));
    await ac.put("", action, { exitCode: 0, outputFiles: [{ path: "a.o" }] });
    const got = (await ac.get("", action))!;
    got.outputFiles![0]!.path = "b.o";
    assert.equal((await ac.get("", action))!.outputFiles![0]!.path, "a.o");
    assert.equal(ac.entrySizeBytes({ exitCode: 0, outputFiles: [{ path: "a.o" }] }), (await ac.listEntries())[0]!.sizeBytes);
  });
});
