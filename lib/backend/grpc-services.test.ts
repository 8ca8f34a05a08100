/**
 * The embedded backend's gRPC services at the wire level: malformed and invalid requests get a status
 * (and the server keeps serving), ByteStream edge cases, per-blob batch statuses, GetTree and
 * WaitExecution.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type * as grpc from "@grpc/grpc-js";
import { digestOf } from "../digest/digest.ts";
import { ReapiClient } from "../reapi/client.ts";
import {
  actionCacheService, byteStreamService, capabilitiesService, casService, executionService,
} from "../reapi/grpc-service.ts";
import { build, google } from "../reapi/proto.ts";
import { RpcCaller } from "../reapi/rpc-caller.ts";
import { Code, GomaError } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { REAPI_SEMANTICS_TEST_OPTIONS, TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";
import R = build.bazel.remote.execution.v2;

const isCode = (code: Code, re?: RegExp) => (e: unknown) =>
  e instanceof GomaError && e.code === code && (!re || re.test(e.rawMessage));
const blob = (data: Uint8Array) => ({ digest: digestOf(data), data });

/** Reads a server stream to the end; resolves with its messages or rejects with a GomaError. */
async function drain<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const m of stream as AsyncIterable<T>) out.push(m);
  } catch (err) {
    throw GomaError.from(err);
  }
  return out;
}

/** Sends raw WriteRequests on one ByteStream.Write call. */
async function rawWrite(caller: RpcCaller, reqs: google.bytestream.IWriteRequest[]): Promise<google.bytestream.IWriteResponse> {
  const { stream, response } = caller.clientStream(byteStreamService.Write);
  for (const r of reqs) stream.write(r);
  stream.end();
  return response;
}

describe("embedded backend gRPC services", () => {
  let dataDir: string;
  let backend: EmbeddedBackend;
  let caller: RpcCaller;
  let client: ReapiClient;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "goma-svc-"));
    backend = await startEmbeddedBackend({ dataDir , ...REAPI_SEMANTICS_TEST_OPTIONS });
    caller = new RpcCaller({ target: backend.address, requestMetadata: new Uint8Array(0) });
    client = new ReapiClient({ target: backend.address, instanceName: "" });
  });
  after(async () => {
    caller.close();
    client.close();
    await backend.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("undecodable request bytes get a status on every RPC and the server keeps serving", async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const id = (b: Buffer) => b;
    const unaries = [casService.FindMissingBlobs, casService.BatchUpdateBlobs, casService.BatchReadBlobs,
      actionCacheService.GetActionResult, actionCacheService.UpdateActionResult, capabilitiesService.GetCapabilities,
      byteStreamService.QueryWriteStatus];
    for (const m of unaries) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        caller.client.makeUnaryRequest(m.path, id, id, garbage, caller.metadata(), {}, (e) => resolve(e)));
      assert.ok(err && err.code !== 0, `${m.path} answered OK to garbage`);
    }
    for (const m of [executionService.Execute, executionService.WaitExecution, casService.GetTree, byteStreamService.Read]) {
      await assert.rejects(drain(caller.client.makeServerStreamRequest(m.path, id, id, garbage, caller.metadata(), {})),
        (e: unknown) => e instanceof GomaError && e.code !== Code.OK, m.path);
    }
    const caps = await caller.unary(capabilitiesService.GetCapabilities, { instanceName: "" });
    assert.equal(caps.executionCapabilities?.execEnabled, true);
  });

  test("invalid fields answer INVALID_ARGUMENT", async () => {
    const d = digestOf(randomBytes(8));
    await assert.rejects(caller.unary(casService.FindMissingBlobs, { blobDigests: [{ hash: "xyz", sizeBytes: 1 }] }),
      isCode(Code.InvalidArgument, /Invalid blob_digests\[0\]/));
    await assert.rejects(caller.unary(casService.FindMissingBlobs, { instanceName: "/bad", blobDigests: [d] }),
      isCode(Code.InvalidArgument, /Invalid instance name "\/bad"/));
    await assert.rejects(caller.unary(casService.FindMissingBlobs, { blobDigests: [d], digestFunction: R.DigestFunction.Value.BLAKE3 }),
      isCode(Code.InvalidArgument, /Unsupported digest function/));
    await assert.rejects(caller.unary(actionCacheService.UpdateActionResult, { actionDigest: d }),
      isCode(Code.InvalidArgument, /No action_result/));
    await assert.rejects(drain(caller.serverStream(executionService.Execute, { instanceName: "" })),
      isCode(Code.InvalidArgument, /No action_digest/));
    const big = [blob(randomBytes(3 * 1024 * 1024)), blob(randomBytes(2 * 1024 * 1024))];
    await assert.rejects(caller.unary(casService.BatchUpdateBlobs, { requests: big }),
      isCode(Code.InvalidArgument, /exceeds max_batch_total_size_bytes/));
    const notAnAction = blob(Buffer.from([0x0a, 0xff]));
    await client.uploadBlobs([notAnAction]);
    await assert.rejects(client.execute(notAnAction.digest), isCode(Code.InvalidArgument, /is not a valid Action/));
  });

  test("BatchReadBlobs and BatchUpdateBlobs answer per-blob statuses", async () => {
    const good = blob(randomBytes(100));
    const res = await caller.unary(casService.BatchUpdateBlobs, {
      requests: [good, { digest: digestOf(randomBytes(5)), data: randomBytes(5) }],
    });
    assert.deepEqual(res.responses?.map((r) => r.status?.code ?? 0), [Code.OK, Code.InvalidArgument]);
    const missing = digestOf(randomBytes(7));
    const read = await caller.unary(casService.BatchReadBlobs, { digests: [good.digest, missing] });
    assert.deepEqual(read.responses?.map((r) => r.status?.code ?? 0), [Code.OK, Code.NotFound]);
    assert.ok(Buffer.from(read.responses![0]!.data!).equals(good.data));
  });

  test("ByteStream rejects broken writes and serves ranges", async () => {
    const b = blob(randomBytes(1000));
    const name = `uploads/u1/blobs/${b.digest.hash}/1000`;
    await assert.rejects(rawWrite(caller, [{ resourceName: name, writeOffset: 0, data: b.data }]),
      isCode(Code.InvalidArgument, /ended without finish_write/));
    await assert.rejects(rawWrite(caller, [{ resourceName: name, writeOffset: 0, data: b.data.subarray(0, 10) },
      { writeOffset: 20, data: b.data.subarray(10), finishWrite: true }]), isCode(Code.InvalidArgument, /write_offset 20/));
    await assert.rejects(rawWrite(caller, [{ resourceName: name, writeOffset: 0, data: randomBytes(1001), finishWrite: true }]),
      isCode(Code.InvalidArgument, /more than 1000 bytes/));
    await assert.rejects(rawWrite(caller, [{ resourceName: `uploads/u1/compressed-blobs/deflate/${b.digest.hash}/1000`, data: b.data }]),
      isCode(Code.Unimplemented, /compressor "deflate" is not supported \(this server supports zstd\)/));
    await assert.rejects(caller.unary(byteStreamService.QueryWriteStatus, { resourceName: name }), isCode(Code.NotFound));

    const ok = await rawWrite(caller, [{ resourceName: name, writeOffset: 0, data: b.data.subarray(0, 600) },
      { resourceName: name, writeOffset: 600, data: b.data.subarray(600), finishWrite: true }]);
    assert.equal(Number(ok.committedSize), 1000);
    const status = await caller.unary(byteStreamService.QueryWriteStatus, { resourceName: name });
    assert.deepEqual([Number(status.committedSize), status.complete], [1000, true]);
    const part = await drain(caller.serverStream(byteStreamService.Read,
      { resourceName: `blobs/${b.digest.hash}/1000`, readOffset: 100, readLimit: 50 }));
    assert.ok(Buffer.concat(part.map((p) => Buffer.from(p.data!))).equals(b.data.subarray(100, 150)));
    await assert.rejects(drain(caller.serverStream(byteStreamService.Read, { resourceName: `/blobs/${b.digest.hash}/1000` })),
      isCode(Code.InvalidArgument));
    await assert.rejects(drain(caller.serverStream(byteStreamService.Read, { resourceName: `blobs/${digestOf(randomBytes(3)).hash}/3` })),
      isCode(Code.NotFound));
  });

  test("GetTree returns every Directory of a tree", async () => {
    const leaf = R.Directory.encode({ files: [{ name: "f", digest: digestOf(Buffer.from("x")) }] }).finish();
    const mid = R.Directory.encode({ directories: [{ name: "leaf", digest: digestOf(leaf) }] }).finish();
    const root = R.Directory.encode({ directories: [{ name: "a", digest: digestOf(mid) }, { name: "b", digest: digestOf(mid) }] }).finish();
    await client.uploadBlobs([blob(leaf), blob(mid), blob(root)]);
    const pages = await drain(caller.serverStream(casService.GetTree, { rootDigest: digestOf(root), pageSize: 2 }));
    const dirs = pages.flatMap((p) => p.directories ?? []);
    assert.deepEqual(dirs.map((d) => digestOf(R.Directory.encode(d).finish()).hash),
      [digestOf(root).hash, digestOf(mid).hash, digestOf(leaf).hash]);
    assert.equal(pages.length, 2);
  });

  test("WaitExecution returns a finished operation and NOT_FOUND for unknown names", async () => {
    await assert.rejects(drain(caller.serverStream(executionService.WaitExecution, { name: "operations/nope" })),
      isCode(Code.NotFound, /operations\/nope/));
    const a = await uploadTestAction(client, { argv: ["/bin/sh", "-c", "echo waited"], env: TEST_PATH_ENV });
    const ops = await drain(caller.serverStream(executionService.Execute, { actionDigest: a.actionDigest }));
    const name = ops[0]!.name!;
    assert.match(name, /^operations\/[0-9a-f-]{36}$/);
    assert.deepEqual(ops.map((o) => o.done), [...ops.slice(1).map(() => false), true]);
    assert.ok(ops.every((o) => o.metadata?.type_url === "type.googleapis.com/build.bazel.remote.execution.v2.ExecuteOperationMetadata"));
    const again = await drain(caller.serverStream(executionService.WaitExecution, { name }));
    assert.equal(again.length, 1);
    assert.equal(again[0]!.done, true);
    assert.equal(again[0]!.response?.type_url, "type.googleapis.com/build.bazel.remote.execution.v2.ExecuteResponse");
    assert.equal(R.ExecuteResponse.decode(again[0]!.response!.value!).result?.exitCode, 0);
  });
});
