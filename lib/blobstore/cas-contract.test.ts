/**
 * The {@link Cas} and {@link ActionCache} contract, run against every store and decorator stack: the
 * disk and memory stores, each under a size limit, a read-through stack, and a remote REAPI service's CAS and
 * action cache through the REAPI client (remote-cas.ts, against the embedded backend on loopback). Store-specific behaviour
 * (corruption on disk, eviction order, filling) is tested beside each implementation.
 */
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf, EMPTY_DIGEST } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import type { ActionCache, Cas } from "./cas.ts";
import { DiskActionCache } from "./disk-action-cache.ts";
import { DiskCas } from "./disk-cas.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";
import { ReadThroughActionCache, ReadThroughCas } from "./read-through-cas.ts";
import { withSizeLimit } from "./size-limited-store.ts";
import { remoteStores } from "./remote-cas.ts";
import { startEmbeddedBackend } from "../backend/embedded-backend.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const isCode = (code: Code) => (e: unknown) => e instanceof GomaError && e.code === code;
async function drain(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString();
}

let root: string;
let n = 0;
const fresh = () => join(root, `s${n++}`);

/** Every stack the contract runs against: a name and a maker. */
const stacks: [string, () => Promise<{ cas: Cas; ac: ActionCache }>][] = [
  ["DiskCas", async () => { const d = fresh(); return { cas: await DiskCas.open(join(d, "cas")), ac: await DiskActionCache.open(join(d, "ac")) }; }],
  ["MemoryCas", async () => ({ cas: new MemoryCas(), ac: new MemoryActionCache() })],
  ["SizeLimitedCas over DiskCas", async () => {
    const d = fresh();
    return withSizeLimit(1 << 30, await DiskCas.open(join(d, "cas")), await DiskActionCache.open(join(d, "ac")));
  }],
  ["SizeLimitedCas over MemoryCas", () => withSizeLimit(1 << 30, new MemoryCas(), new MemoryActionCache())],
  ["ReadThroughCas (memory over disk)", async () => {
    const d = fresh();
    return {
      cas: new ReadThroughCas(new MemoryCas(), await DiskCas.open(join(d, "cas"))),
      ac: new ReadThroughActionCache(new MemoryActionCache(), await DiskActionCache.open(join(d, "ac"))),
    };
  }],
  ["RemoteCas (the embedded backend over gRPC)", async () => {
    const backend = await startEmbeddedBackend({ dataDir: fresh(), inMemoryStores: true, unauthenticated: true, sandbox: "off", platform: { OSFamily: "linux" } });
    const remote = remoteStores({ target: backend.address, instanceName: "", insecure: true });
    closers.push(async () => { remote.close(); await backend.close(); });
    return remote;
  }],
];
const closers: (() => Promise<void>)[] = [];

before(async () => { root = await mkdtemp(join(tmpdir(), "goma-contract-")); });
after(async () => {
  for (const c of closers) await c();
  await rm(root, { recursive: true, force: true });
});

for (const [name, make] of stacks) {
  describe(`Cas contract: ${name}`, () => {
    let cas: Cas;
    let ac: ActionCache;
    before(async () => ({ cas, ac } = await make()));

    test("put() then get(); findMissing() keeps order and duplicates; has() and verify()", async () => {
      const a = enc("blob a"), b = enc("blob b");
      await cas.put(digestOf(a), a);
      assert.equal(Buffer.from((await cas.get(digestOf(a)))!).toString(), "blob a");
      assert.equal(await cas.get(digestOf(b)), undefined);
      assert.deepEqual(await cas.findMissing([digestOf(b), digestOf(a), digestOf(b)]), [digestOf(b), digestOf(b)]);
      assert.equal(await cas.has(digestOf(a)), true);
      assert.equal(await cas.has(digestOf(b)), false);
      assert.equal(await cas.verify(digestOf(a)), true);
      assert.equal(await cas.verify(digestOf(b)), false);
    });

    test("put() rejects data that does not match the digest with InvalidArgument", async () => {
      const d = digestOf(enc("right"));
      await assert.rejects(cas.put(d, enc("wrong")), (e: unknown) =>
        isCode(Code.InvalidArgument)(e) && /has data with digest/.test((e as GomaError).rawMessage));
      assert.equal(await cas.has(d), false);
    });

    test("the empty blob always exists", async () => {
      assert.deepEqual(await cas.findMissing([EMPTY_DIGEST]), []);
      assert.equal((await cas.get(EMPTY_DIGEST))!.byteLength, 0);
      assert.equal(await cas.verify(EMPTY_DIGEST), true);
      await cas.put(EMPTY_DIGEST, new Uint8Array(0));
    });

    test("createWriter() publishes only verified data; abort() discards", async () => {
      const data = enc("w".repeat(100_000));
      const d = digestOf(data);
      const w = await cas.createWriter(d);
      await w.write(data.subarray(0, 60_000));
      assert.equal(w.committedBytes, 60_000);
      assert.equal(await cas.has(d), false, "nothing visible before commit()");
      await w.write(data.subarray(60_000));
      await w.commit();
      assert.equal(await cas.verify(d), true);

      const bad = await cas.createWriter(digestOf(enc("abc")));
      await bad.write(enc("abd"));
      await assert.rejects(bad.commit(), isCode(Code.InvalidArgument));
      assert.equal(await cas.has(digestOf(enc("abc"))), false);
      const over = await cas.createWriter(digestOf(enc("abc")));
      await assert.rejects(over.write(enc("abcd")), isCode(Code.InvalidArgument));
      await over.abort();
      await over.abort();
    });

    test("read() streams whole blobs and ranges; NotFound and OutOfRange", async () => {
      const data = enc("0123456789");
      const d = digestOf(data);
      await cas.put(d, data);
      assert.equal(await drain(cas.read(d)), "0123456789");
      const chunks: string[] = [];
      for await (const c of cas.read(d, 2, 5, 2)) chunks.push(Buffer.from(c).toString());
      assert.deepEqual(chunks, ["23", "45", "6"]);
      await assert.rejects(drain(cas.read(digestOf(enc("absent")))), isCode(Code.NotFound));
      await assert.rejects(drain(cas.read(d, 11)), isCode(Code.OutOfRange));
    });

    test("putFile() imports a file, refuses a symlink with noFollow; materialize() places a read-only copy", async () => {
      const dir = fresh();
      await mkdir(dir, { recursive: true });
      const src = join(dir, "out.o");
      await writeFile(src, "object code");
      const d = await cas.putFile(src, { noFollow: true });
      assert.deepEqual(d, digestOf(enc("object code")));
      assert.equal(await cas.verify(d), true);
      await symlink(src, join(dir, "link"));
      await assert.rejects(cas.putFile(join(dir, "link"), { noFollow: true }), (e: NodeJS.ErrnoException) => e.code === "ELOOP");

      await cas.materialize(d, join(dir, "in.o"), false);
      await cas.materialize(d, join(dir, "tool"), true);
      assert.equal(await readFile(join(dir, "in.o"), "utf8"), "object code");
      assert.equal((await stat(join(dir, "in.o"))).mode & 0o777, 0o444);
      assert.equal((await stat(join(dir, "tool"))).mode & 0o777, 0o555);
      await assert.rejects(cas.materialize(digestOf(enc("absent")), join(dir, "x"), false), isCode(Code.NotFound));
      await assert.rejects(lstat(join(dir, "x")));
    });

    test("pin() returns an idempotent release", async () => {
      const release = cas.pin([digestOf(enc("blob a"))]);
      release();
      release();
    });

    test("ActionCache: put() then get(), keyed by instance name; put() replaces", async () => {
      const action = digestOf(enc(`action of ${name}`));
      assert.equal(await ac.get("", action), undefined);
      await ac.put("", action, { exitCode: 0, stdoutRaw: enc("hi") });
      await ac.put("other", action, { exitCode: 7 });
      assert.equal((await ac.get("", action))!.exitCode, 0);
      assert.equal(Buffer.from((await ac.get("", action))!.stdoutRaw!).toString(), "hi");
      assert.equal((await ac.get("other", action))!.exitCode, 7);
      assert.equal(await ac.get("third", action), undefined);
      await ac.put("", action, { exitCode: 2 });
      assert.equal((await ac.get("", action))!.exitCode, 2);
    });
  });
}
