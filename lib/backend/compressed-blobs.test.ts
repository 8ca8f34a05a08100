/**
 * zstd-compressed blobs on the embedded backend (REAPI v2.3), driven by a plain grpc-js client with the
 * data compressed and decompressed by the test itself (node:zlib): Capabilities advertise ZSTD;
 * ByteStream Read/Write of `compressed-blobs/zstd/{hash}/{size}` (chunked, offsets in compressed bytes,
 * QueryWriteStatus, an already-present blob ends early with -1, read_offset); BatchUpdateBlobs with
 * `compressor` and BatchReadBlobs with `acceptable_compressors`; and refusals: a wrong digest, data that
 * decompresses past the digest's size, data that is not zstd, read_limit, other compressors.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { byteStreamService, capabilitiesService, casService } from "../reapi/grpc-service.ts";
import { build, google } from "../reapi/proto.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { REAPI_SEMANTICS_TEST_OPTIONS } from "./test-actions.ts";
import R = build.bazel.remote.execution.v2;
import bs = google.bytestream;

const ZSTD = R.Compressor.Value.ZSTD;
const digestOf = (data: Uint8Array) => ({ hash: createHash("sha256").update(data).digest("hex"), sizeBytes: data.byteLength });
/** 600 KiB that compress well (source-like text) with some random bytes, so that several chunks travel. */
const compressible = (seed: string) => Buffer.concat(Array.from({ length: 600 }, (_, i) =>
  Buffer.concat([Buffer.from(`${seed} line ${i}: int f${i}(int x) { return x * ${i}; }\n`.padEnd(1000, "/")), randomBytes(24)])));

/** A grpc-js client for the test: unary, server-streaming and client-streaming calls by method definition. */
class Client {
  readonly #c: grpc.Client;
  constructor(address: string) {
    this.#c = new grpc.Client(address, grpc.credentials.createInsecure());
  }
  unary<Req, Res>(m: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) =>
      this.#c.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, (e, r) => (e ? reject(e) : resolve(r!))));
  }
  async read(resourceName: string, opts: { readOffset?: number; readLimit?: number } = {}): Promise<Buffer> {
    const s = this.#c.makeServerStreamRequest(byteStreamService.Read.path, byteStreamService.Read.requestSerialize,
      byteStreamService.Read.responseDeserialize, { resourceName, ...opts });
    const out: Buffer[] = [];
    for await (const m of s as AsyncIterable<bs.IReadResponse>) out.push(Buffer.from(m.data ?? []));
    return Buffer.concat(out);
  }
  write(reqs: bs.IWriteRequest[]): Promise<bs.IWriteResponse> {
    return new Promise((resolve, reject) => {
      const s = this.#c.makeClientStreamRequest(byteStreamService.Write.path, byteStreamService.Write.requestSerialize,
        byteStreamService.Write.responseDeserialize, (e, r) => (e ? reject(e) : resolve(r!)));
      for (const r of reqs) s.write(r);
      s.end();
    });
  }
  close(): void {
    this.#c.close();
  }
}

/** WriteRequests sending `compressed` in `chunk`-byte pieces, offsets in compressed bytes. */
function writeRequests(resourceName: string, compressed: Buffer, chunk: number): bs.IWriteRequest[] {
  const reqs: bs.IWriteRequest[] = [];
  for (let off = 0; off < compressed.length; off += chunk) {
    reqs.push({ resourceName: off === 0 ? resourceName : "", writeOffset: off, data: compressed.subarray(off, off + chunk),
      finishWrite: off + chunk >= compressed.length });
  }
  return reqs;
}

const grpcError = (code: grpc.status, re: RegExp) => (e: unknown) => {
  const err = e as grpc.ServiceError;
  return err.code === code && re.test(err.details);
};

describe("zstd-compressed blobs on the embedded backend", () => {
  let dataDir: string;
  let backend: EmbeddedBackend;
  let client: Client;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "goma-zstd-"));
    backend = await startEmbeddedBackend({ dataDir, ...REAPI_SEMANTICS_TEST_OPTIONS });
    client = new Client(backend.address);
  });
  after(async () => {
    client.close();
    await backend.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("Capabilities advertise ZSTD for ByteStream and batch updates", async () => {
    const caps = await client.unary(capabilitiesService.GetCapabilities, { instanceName: "" });
    assert.deepEqual(caps.cacheCapabilities?.supportedCompressors, [ZSTD]);
    assert.deepEqual(caps.cacheCapabilities?.supportedBatchUpdateCompressors, [ZSTD]);
  });

  test("ByteStream Write of compressed-blobs/zstd in chunks, then Read back compressed and plain", async () => {
    const data = compressible("write");
    const d = digestOf(data);
    const z = zstdCompressSync(data);
    assert.ok(z.length < data.length / 2, `test data should compress: ${z.length} of ${data.length}`);
    const name = `hardlinking/uploads/7c1e2b9e-0000-4000-8000-000000000001/compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`;
    const res = await client.write(writeRequests(name, z, 16 * 1024));
    assert.equal(Number(res.committedSize), z.length, "committed_size counts the compressed bytes received");

    const missing = await client.unary(casService.FindMissingBlobs, { instanceName: "", blobDigests: [d] });
    assert.deepEqual(missing.missingBlobDigests, []);
    assert.ok((await client.read(`blobs/${d.hash}/${d.sizeBytes}`)).equals(data));
    const back = await client.read(`hardlinking/compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`);
    assert.ok(back.length < data.length / 2, "the Read answered compressed data");
    assert.ok(zstdDecompressSync(back).equals(data));
    // read_offset is in the uncompressed data.
    assert.ok(zstdDecompressSync(await client.read(`compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`, { readOffset: 1000 })).equals(data.subarray(1000)));
    await assert.rejects(client.read(`compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`, { readLimit: 10 }),
      grpcError(grpc.status.INVALID_ARGUMENT, /read_limit 10 with compressed-blobs/));

    const absent = digestOf(Buffer.from("never stored anywhere"));
    await assert.rejects(client.read(`compressed-blobs/zstd/${absent.hash}/${absent.sizeBytes}`), grpcError(grpc.status.NOT_FOUND, /./));

    // Already present: the compressed Write ends at once with committed_size -1.
    const again = await client.write(writeRequests(name.replace("0001", "0002"), z, 16 * 1024));
    assert.equal(Number(again.committedSize), -1);
  });

  test("QueryWriteStatus of a compressed upload in progress counts compressed bytes", async () => {
    const data = compressible("query");
    const d = digestOf(data);
    const z = zstdCompressSync(data);
    const name = `uploads/u-query/compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`;
    const done = new Promise<bs.IWriteResponse>((resolve, reject) => {
      const c = new grpc.Client(backend.address, grpc.credentials.createInsecure());
      const s = c.makeClientStreamRequest(byteStreamService.Write.path, byteStreamService.Write.requestSerialize,
        byteStreamService.Write.responseDeserialize, (e, r) => { c.close(); if (e) reject(e); else resolve(r!); });
      s.write({ resourceName: name, writeOffset: 0, data: z.subarray(0, 1000) }, async () => {
        // The server has the first message once QueryWriteStatus sees the upload; ask until it does.
        let st: bs.IQueryWriteStatusResponse | undefined;
        for (let i = 0; i < 200 && !st; i++) {
          st = await client.unary(byteStreamService.QueryWriteStatus, { resourceName: name }).catch(() => undefined);
        }
        try {
          assert.deepEqual([Number(st?.committedSize), st?.complete], [1000, false]);
        } catch (e) {
          reject(e);
        }
        s.write({ writeOffset: 1000, data: z.subarray(1000), finishWrite: true });
        s.end();
      });
    });
    assert.equal(Number((await done).committedSize), z.length);
    assert.ok((await client.read(`blobs/${d.hash}/${d.sizeBytes}`)).equals(data));
  });

  test("compressed ByteStream uploads that do not match their digest are refused and leave nothing", async () => {
    const data = compressible("wrong");
    const d = digestOf(data);
    const other = Buffer.from(data);
    other[12345] ^= 1;
    const cases: [string, Buffer, RegExp][] = [
      ["same size, other bytes", zstdCompressSync(other), /has data with digest/],
      ["more than the digest's size", zstdCompressSync(Buffer.concat([data, Buffer.from("x")])), /more than \d+ bytes/],
      ["fewer bytes", zstdCompressSync(data.subarray(1)), /has data with digest/],
      ["not zstd", randomBytes(5000), /zstd data does not decompress/],
    ];
    for (const [label, z, re] of cases) {
      await assert.rejects(client.write(writeRequests(`uploads/u-${label.length}/compressed-blobs/zstd/${d.hash}/${d.sizeBytes}`, z, 8192)),
        grpcError(grpc.status.INVALID_ARGUMENT, re), label);
    }
    const missing = await client.unary(casService.FindMissingBlobs, { instanceName: "", blobDigests: [d] });
    assert.equal(missing.missingBlobDigests?.length, 1);
    // A bomb: 64 MiB of zeros named as a 1 KiB blob stops at 1 KiB.
    const bombDigest = digestOf(Buffer.alloc(1024));
    await assert.rejects(client.write(writeRequests(`uploads/bomb/compressed-blobs/zstd/${bombDigest.hash}/1024`, zstdCompressSync(Buffer.alloc(64 << 20)), 8192)),
      grpcError(grpc.status.INVALID_ARGUMENT, /more than 1024 bytes/));
  });

  test("BatchUpdateBlobs with compressor ZSTD stores verified blobs; a wrong digest is refused per blob", async () => {
    const good = compressible("batch").subarray(0, 200_000);
    const bad = Buffer.from("not what the digest says");
    const res = await client.unary(casService.BatchUpdateBlobs, {
      instanceName: "",
      requests: [
        { digest: digestOf(good), data: zstdCompressSync(good), compressor: ZSTD },
        { digest: digestOf(Buffer.from("xot what the digest says")), data: zstdCompressSync(bad), compressor: ZSTD },
        { digest: digestOf(bad), data: randomBytes(100), compressor: ZSTD },
        { digest: digestOf(bad), data: zstdCompressSync(Buffer.concat([bad, bad])), compressor: ZSTD },
        { digest: digestOf(bad), data: bad, compressor: R.Compressor.Value.DEFLATE },
        { digest: digestOf(bad), data: bad },
      ],
    });
    assert.deepEqual(res.responses?.map((r) => [r.status?.code ?? 0, r.status?.message ?? ""]), [
      [0, ""],
      [grpc.status.INVALID_ARGUMENT, `Blob ${digestOf(Buffer.from("xot what the digest says")).hash}/24 has data with digest ${digestOf(bad).hash}/${bad.length}`],
      [grpc.status.INVALID_ARGUMENT, `requests[2] (${digestOf(bad).hash}/${bad.length}): zstd data does not decompress: Unknown frame descriptor`],
      [grpc.status.INVALID_ARGUMENT, `requests[3] (${digestOf(bad).hash}/${bad.length}): zstd data decompresses to more than ${bad.length} bytes`],
      [grpc.status.INVALID_ARGUMENT, "Compressor DEFLATE is not supported: this server supports IDENTITY and ZSTD"],
      [0, ""],
    ]);
    assert.ok((await client.read(`blobs/${digestOf(good).hash}/${good.length}`)).equals(good));
  });

  test("BatchReadBlobs answers zstd data when ZSTD is acceptable, plain data otherwise", async () => {
    const a = compressible("read").subarray(0, 100_000);
    const b = Buffer.from("small");
    await client.unary(casService.BatchUpdateBlobs, { instanceName: "", requests: [{ digest: digestOf(a), data: a }, { digest: digestOf(b), data: b }] });
    const missingDigest = digestOf(Buffer.from("never stored"));
    const z = await client.unary(casService.BatchReadBlobs, {
      instanceName: "", digests: [digestOf(a), digestOf(b), missingDigest], acceptableCompressors: [ZSTD],
    });
    const [ra, rb, rm_] = z.responses!;
    assert.equal(ra!.compressor, ZSTD);
    assert.ok(ra!.data!.length < a.length / 2);
    assert.ok(zstdDecompressSync(ra!.data!).equals(a));
    assert.equal(rb!.compressor, ZSTD);
    assert.ok(zstdDecompressSync(rb!.data!).equals(b));
    assert.equal(rm_!.status?.code, grpc.status.NOT_FOUND);
    const plain = await client.unary(casService.BatchReadBlobs, { instanceName: "", digests: [digestOf(a)] });
    assert.equal(plain.responses![0]!.compressor ?? 0, 0);
    assert.ok(Buffer.from(plain.responses![0]!.data!).equals(a));
  });
});
