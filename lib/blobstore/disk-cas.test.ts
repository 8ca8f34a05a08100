import assert from "node:assert/strict";
import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf, EMPTY_DIGEST } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { DiskCas } from "./disk-cas.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Flips one bit of the byte at `offset` of a stored file, keeping its size (a faulty disk would). */
async function flipByte(path: string, offset = 0): Promise<void> {
  const data = await readFile(path);
  data[offset] = data[offset]! ^ 0x01;
  await chmod(path, 0o644);
  await writeFile(path, data);
  await chmod(path, 0o444);
}

describe("DiskCas", () => {
  let dir: string;
  let cas: DiskCas;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "goma-cas-"));
    cas = await DiskCas.open(join(dir, "cas"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("put() stores a verified blob read-only under <hash[0:2]>/<hash>", async () => {
    const data = enc("hello\n");
    const d = digestOf(data);
    await cas.put(d, data);
    const p = join(dir, "cas", d.hash.slice(0, 2), d.hash);
    assert.equal(cas.pathOf(d), p);
    assert.equal((await stat(p)).mode & 0o777, 0o444);
    assert.deepEqual(Buffer.from((await cas.get(d))!), Buffer.from(data));
    assert.deepEqual(await cas.findMissing([d, digestOf(enc("other"))]), [digestOf(enc("other"))]);
  });

  test("put() rejects data that does not match the digest, leaving nothing behind", async () => {
    const d = digestOf(enc("right"));
    await assert.rejects(cas.put(d, enc("wrong")), (e: unknown) =>
      e instanceof GomaError && e.code === Code.InvalidArgument && /has data with digest/.test(e.rawMessage));
    assert.equal(await cas.has(d), false);
    assert.deepEqual(await readdir(join(dir, "cas", "tmp")), []);
  });

  test("the empty blob always exists and is never stored", async () => {
    assert.equal(await cas.has(EMPTY_DIGEST), true);
    assert.deepEqual(await cas.findMissing([EMPTY_DIGEST]), []);
    assert.equal((await cas.get(EMPTY_DIGEST))!.byteLength, 0);
    await cas.put(EMPTY_DIGEST, new Uint8Array(0));
    await assert.rejects(lstat(cas.pathOf(EMPTY_DIGEST)));
  });

  test("a truncated entry counts as missing", async () => {
    const data = enc("will be truncated");
    const d = digestOf(data);
    await cas.put(d, data);
    await rm(cas.pathOf(d));
    await writeFile(cas.pathOf(d), enc("will"));
    assert.equal(await cas.has(d), false);
    assert.equal(await cas.get(d), undefined);
    await rm(cas.pathOf(d));
  });

  test("createWriter() publishes only verified data", async () => {
    const data = enc("x".repeat(200_000));
    const d = digestOf(data);
    const w = await cas.createWriter(d);
    await w.write(data.subarray(0, 100_000));
    assert.equal(await cas.has(d), false);
    await w.write(data.subarray(100_000));
    await w.commit();
    assert.equal(await cas.has(d), true);

    const bad = await cas.createWriter(digestOf(enc("abc")));
    await bad.write(enc("abd"));
    await assert.rejects(bad.commit(), (e: unknown) => e instanceof GomaError && e.code === Code.InvalidArgument);
    const over = await cas.createWriter(digestOf(enc("abc")));
    await assert.rejects(over.write(enc("abcd")), (e: unknown) => e instanceof GomaError && e.code === Code.InvalidArgument);
    await over.abort();
    assert.deepEqual(await readdir(join(dir, "cas", "tmp")), []);
  });

  test("read() streams ranges and reports NotFound", async () => {
    const data = enc("0123456789");
    const d = digestOf(data);
    await cas.put(d, data);
    const chunks: Buffer[] = [];
    for await (const c of cas.read(d, 2, 5, 2)) chunks.push(Buffer.from(c));
    assert.equal(Buffer.concat(chunks).toString(), "23456");
    assert.deepEqual(chunks.map((c) => c.byteLength), [2, 2, 1]);
    const missing = digestOf(enc("nope"));
    await assert.rejects(async () => { for await (const _ of cas.read(missing)) { /* drain */ } },
      (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
  });

  test("putFile() imports a file and materialize() copies it, read-only, never sharing the stored inode", async () => {
    const src = join(dir, "src.bin");
    await writeFile(src, enc("#!/bin/sh\necho tool\n"));
    const d = await cas.putFile(src);
    assert.deepEqual(d, digestOf(await readFile(src)));
    const plain = join(dir, "plain"), exe = join(dir, "exe");
    await cas.materialize(d, plain, false);
    await cas.materialize(d, exe, true);
    assert.notEqual((await stat(plain)).ino, (await stat(cas.pathOf(d))).ino);
    assert.equal((await stat(plain)).mode & 0o777, 0o444);
    assert.notEqual((await stat(exe)).ino, (await stat(cas.pathOf(d))).ino);
    assert.equal((await stat(exe)).mode & 0o777, 0o555);
    await cas.materialize(EMPTY_DIGEST, join(dir, "empty"), false);
    assert.equal((await stat(join(dir, "empty"))).size, 0);
  });

  test("get() of a blob with one flipped byte is undefined: the blob is removed and counted", async () => {
    const data = enc("int header_value = 1;\n");
    const d = digestOf(data);
    await cas.put(d, data);
    await flipByte(cas.pathOf(d), 4);
    const before = cas.corruptBlobs;
    assert.equal(await cas.get(d), undefined);
    assert.equal(cas.corruptBlobs, before + 1);
    assert.equal(await cas.has(d), false, "a corrupt blob is missing, so it is uploaded again");
    await cas.put(d, data);
    assert.deepEqual(Buffer.from((await cas.get(d))!), Buffer.from(data));
  });

  test("put() replaces a stored blob whose content is wrong instead of keeping it", async () => {
    const data = enc("the right bytes");
    const d = digestOf(data);
    await cas.put(d, data);
    await flipByte(cas.pathOf(d));
    const before = cas.corruptBlobs;
    await cas.put(d, data);
    assert.deepEqual(await readFile(cas.pathOf(d)), Buffer.from(data));
    assert.equal(cas.corruptBlobs, before + 1);
    const f = join(dir, "again.bin");
    await writeFile(f, data);
    await flipByte(cas.pathOf(d));
    await cas.putFile(f);
    assert.deepEqual(await readFile(cas.pathOf(d)), Buffer.from(data), "putFile() replaces it too");
  });

  test("read() of a corrupt blob fails with NotFound before its end is served, whole or ranged", async () => {
    const data = enc("y".repeat(150_000));
    const d = digestOf(data);
    for (const [offset, limit] of [[0, 0], [10, 20]] as const) {
      await cas.put(d, data);
      await flipByte(cas.pathOf(d), 140_000);
      await assert.rejects(async () => { for await (const _ of cas.read(d, offset, limit, 64 * 1024)) { /* drain */ } },
        (e: unknown) => e instanceof GomaError && e.code === Code.NotFound && /corrupt/.test(e.rawMessage));
      assert.equal(await cas.has(d), false);
    }
  });

  test("materialize() of a corrupt blob fails with NotFound and leaves no file", async () => {
    const data = enc("materialized");
    const d = digestOf(data);
    await cas.put(d, data);
    await flipByte(cas.pathOf(d));
    const dest = join(dir, "corrupt-dest");
    await assert.rejects(cas.materialize(d, dest, false), (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
    await assert.rejects(lstat(dest));
    assert.equal(await cas.has(d), false);
  });

  test("verify() checks a stored blob's content", async () => {
    const data = enc("verified");
    const d = digestOf(data);
    await cas.put(d, data);
    assert.equal(await cas.verify(d), true);
    await flipByte(cas.pathOf(d));
    assert.equal(await cas.verify(d), false);
    assert.equal(await cas.has(d), false);
    assert.equal(await cas.verify(EMPTY_DIGEST), true);
  });
});
