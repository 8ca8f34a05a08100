/**
 * ReapiClient against a scripted in-process gRPC server: what goes on the wire (metadata, resource
 * names, write offsets) and how the client reacts to Buildbarn-style behaviours and failures (retries,
 * per-blob statuses, broken Execute streams, WaitExecution NOT_FOUND, verbatim FAILED_PRECONDITION).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { digestOf } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { ReapiClient } from "./client.ts";
import { MAX_LOST_RETRIES } from "./execute-client.ts";
import {
  byteStreamService, capabilitiesService, casService, executionService, GRPC_OPTIONS, REQUEST_METADATA_KEY, TYPE_URL,
} from "./grpc-service.ts";
import { build, google } from "./proto.ts";
import R = build.bazel.remote.execution.v2;

type Op = google.longrunning.IOperation;
const fail = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });
const isCode = (code: Code, re?: RegExp) => (e: unknown) =>
  e instanceof GomaError && e.code === code && (!re || re.test(e.rawMessage));
const stageOp = (name: string, stage: number): Op => ({
  name, done: false,
  metadata: { type_url: TYPE_URL.executeOperationMetadata, value: R.ExecuteOperationMetadata.encode({ stage }).finish() },
});
const doneOp = (name: string, res: R.IExecuteResponse): Op => ({
  ...stageOp(name, 4), done: true,
  response: { type_url: TYPE_URL.executeResponse, value: R.ExecuteResponse.encode(res).finish() },
});

/** The scripted behaviour, reset before each test. */
interface Script {
  calls: { method: string; metadata: grpc.Metadata; request: unknown }[];
  /** `null`: never answer (a hung backend). */
  findMissing: (n: number) => R.IFindMissingBlobsResponse | Error | null;
  batchUpdate: (req: R.IBatchUpdateBlobsRequest, n: number) => R.IBatchUpdateBlobsResponse | Error;
  execute: (call: grpc.ServerWritableStream<R.IExecuteRequest, Op>, n: number) => void;
  wait: (call: grpc.ServerWritableStream<R.IWaitExecutionRequest, Op>, n: number) => void;
  writes: google.bytestream.IWriteRequest[];
  readBlobs: Map<string, Uint8Array>;
}
let script: Script;
const count = (method: string) => script.calls.filter((c) => c.method === method).length;
const record = (method: string, call: { metadata: grpc.Metadata }, request: unknown) => {
  script.calls.push({ method, metadata: call.metadata, request });
  return count(method);
};

describe("ReapiClient wire protocol (scripted server)", () => {
  const server = new grpc.Server(GRPC_OPTIONS);
  let target = "";
  before(async () => {
    server.addService(capabilitiesService, {
      GetCapabilities: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<R.IServerCapabilities>) => {
        record("GetCapabilities", call, call.request);
        cb(null, { cacheCapabilities: { maxBatchTotalSizeBytes: 0 } }); // Buildbarn: no declared limit
      },
    });
    server.addService(casService, {
      FindMissingBlobs: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const r = script.findMissing(record("FindMissingBlobs", call, call.request));
        if (r === null) return;
        r instanceof Error ? cb(r) : cb(null, r);
      },
      BatchUpdateBlobs: (call: grpc.ServerUnaryCall<R.IBatchUpdateBlobsRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const r = script.batchUpdate(call.request, record("BatchUpdateBlobs", call, call.request));
        r instanceof Error ? cb(r) : cb(null, r);
      },
      BatchReadBlobs: (call: grpc.ServerUnaryCall<R.IBatchReadBlobsRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        record("BatchReadBlobs", call, call.request);
        cb(null, { responses: call.request.digests!.map((d) => ({ digest: d, data: script.readBlobs.get(d.hash!), status: {} })) });
      },
      GetTree: (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit("error", fail(grpc.status.UNIMPLEMENTED, "no")),
    });
    server.addService(byteStreamService, {
      Write: (call: grpc.ServerReadableStream<google.bytestream.IWriteRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        record("Write", call, null);
        let n = 0;
        call.on("data", (req: google.bytestream.IWriteRequest) => { script.writes.push(req); n += req.data!.byteLength; });
        call.on("end", () => cb(null, { committedSize: n }));
      },
      Read: (call: grpc.ServerWritableStream<google.bytestream.IReadRequest, unknown>) => {
        record("Read", call, call.request);
        const name = call.request.resourceName!;
        const data = script.readBlobs.get(name.split("/").at(-2)!)!;
        for (let i = 0; i < data.byteLength; i += 65536) call.write({ data: data.subarray(i, i + 65536) });
        call.end();
      },
      QueryWriteStatus: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(fail(grpc.status.UNIMPLEMENTED, "no")),
    });
    server.addService(executionService, {
      Execute: (call: grpc.ServerWritableStream<R.IExecuteRequest, Op>) => script.execute(call, record("Execute", call, call.request)),
      WaitExecution: (call: grpc.ServerWritableStream<R.IWaitExecutionRequest, Op>) => script.wait(call, record("WaitExecution", call, call.request)),
    });
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    target = `127.0.0.1:${port}`;
  });
  after(() => { server.forceShutdown(); });
  beforeEach(() => {
    script = {
      calls: [], writes: [], readBlobs: new Map(),
      findMissing: () => ({ missingBlobDigests: [] }),
      batchUpdate: (req) => ({ responses: req.requests!.map((r) => ({ digest: r.digest, status: {} })) }),
      execute: (call) => call.emit("error", fail(grpc.status.UNIMPLEMENTED, "unscripted")),
      wait: (call) => call.emit("error", fail(grpc.status.NOT_FOUND, "unknown operation")),
    };
  });
  const withClient = async (opts: Partial<ConstructorParameters<typeof ReapiClient>[0]>, fn: (c: ReapiClient) => Promise<void>) => {
    const c = new ReapiClient({ target, instanceName: "", ...opts });
    try { await fn(c); } finally { c.close(); }
  };

  test("every call carries requestmetadata-bin and the bearer token", async () => {
    await withClient({ toolName: "goma", toolVersion: "1.2.3", bearerToken: () => "tok" }, async (c) => {
      await c.findMissingBlobs([digestOf(randomBytes(4))]);
    });
    const md = script.calls.find((x) => x.method === "FindMissingBlobs")!.metadata;
    const rm = R.RequestMetadata.decode(md.get(REQUEST_METADATA_KEY)[0] as Buffer);
    assert.equal(rm.toolDetails?.toolName, "goma");
    assert.equal(rm.toolDetails?.toolVersion, "1.2.3");
    assert.match(rm.toolInvocationId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(md.get("authorization"), ["Bearer tok"]);
  });

  test("UNAVAILABLE is retried with backoff, then succeeds", async () => {
    const d = digestOf(randomBytes(4));
    script.findMissing = (n) => (n <= 2 ? fail(grpc.status.UNAVAILABLE, "try later") : { missingBlobDigests: [d] });
    await withClient({}, async (c) => assert.deepEqual(await c.findMissingBlobs([d]), [d]));
    assert.equal(count("FindMissingBlobs"), 3);
  });

  test("a backend that never answers fails the call with DEADLINE_EXCEEDED after unaryTimeoutMs", async () => {
    script.findMissing = () => null;
    await withClient({ unaryTimeoutMs: 300 }, (c) =>
      assert.rejects(c.findMissingBlobs([digestOf(randomBytes(4))]), isCode(Code.DeadlineExceeded, /deadline/i)));
  });

  test("retries are bounded and other codes are not retried", async () => {
    script.findMissing = () => fail(grpc.status.UNAVAILABLE, "down");
    await withClient({}, (c) => assert.rejects(c.findMissingBlobs([digestOf(randomBytes(4))]), isCode(Code.Unavailable, /^down$/)));
    assert.equal(count("FindMissingBlobs"), 5);
    script.findMissing = () => fail(grpc.status.PERMISSION_DENIED, "nope");
    await withClient({}, (c) => assert.rejects(c.findMissingBlobs([digestOf(randomBytes(4))]), isCode(Code.PermissionDenied, /^nope$/)));
    assert.equal(count("FindMissingBlobs"), 6);
  });

  test("per-blob RESOURCE_EXHAUSTED retries only that blob; other per-blob errors throw", async () => {
    const a = randomBytes(10), b = randomBytes(11);
    script.batchUpdate = (req, n) => ({
      responses: req.requests!.map((r) => ({
        digest: r.digest, status: n === 1 && r.digest!.hash === digestOf(b).hash ? { code: Code.ResourceExhausted, message: "busy" } : {},
      })),
    });
    await withClient({}, (c) => c.uploadBlobs([{ digest: digestOf(a), data: a }, { digest: digestOf(b), data: b }]));
    const batches = script.calls.filter((x) => x.method === "BatchUpdateBlobs").map((x) => (x.request as R.IBatchUpdateBlobsRequest).requests!.length);
    assert.deepEqual(batches, [2, 1]);
    script.batchUpdate = (req) => ({ responses: req.requests!.map((r) => ({ digest: r.digest, status: { code: Code.InvalidArgument, message: "bad blob" } })) });
    await withClient({}, (c) => assert.rejects(c.uploadBlobs([{ digest: digestOf(a), data: a }]), isCode(Code.InvalidArgument, /bad blob/)));
  });

  for (const instanceName of ["", "hardlinking"]) {
    test(`ByteStream names for instance "${instanceName}": no leading slash, offsets from 0, finish_write last`, async () => {
      const data = randomBytes(3 * 1024 * 1024 + 5); // above the 2 MiB default cap (server declares 0)
      const d = digestOf(data);
      await withClient({ instanceName }, (c) => c.uploadBlobs([{ digest: d, data }]));
      const prefix = instanceName ? `${instanceName}/` : "";
      assert.match(script.writes[0]!.resourceName!, new RegExp(`^${prefix}uploads/[0-9a-f-]{36}/blobs/${d.hash}/${d.sizeBytes}$`));
      let offset = 0;
      for (const w of script.writes) {
        assert.equal(Number(w.writeOffset), offset);
        offset += w.data!.byteLength;
      }
      assert.deepEqual(script.writes.map((w) => w.finishWrite), script.writes.map((_, i) => i === script.writes.length - 1));
      assert.equal(count("BatchUpdateBlobs"), 0);

      script.readBlobs.set(d.hash, data);
      await withClient({ instanceName }, async (c) => assert.ok(Buffer.from(await c.readBlob(d)).equals(data)));
      const read = script.calls.find((x) => x.method === "Read")!.request as google.bytestream.IReadRequest;
      assert.equal(read.resourceName, `${prefix}blobs/${d.hash}/${d.sizeBytes}`);
      assert.equal(Number(read.readLimit), 0);
    });
  }

  test("execute() re-attaches with WaitExecution when the stream breaks", async () => {
    script.execute = (call) => {
      call.write(stageOp("operations/1", 2));
      call.emit("error", fail(grpc.status.UNAVAILABLE, "connection reset"));
    };
    script.wait = (call) => {
      assert.equal(call.request.name, "operations/1");
      call.write(stageOp("operations/1", 3));
      call.write(doneOp("operations/1", { result: { exitCode: 7 } }));
      call.end();
    };
    const stages: number[] = [];
    await withClient({}, async (c) => {
      const res = await c.execute(digestOf(randomBytes(3)), { onStage: (s) => stages.push(s) });
      assert.equal(res.result?.exitCode, 7);
    });
    assert.deepEqual(stages, [2, 3, 4]);
    assert.deepEqual([count("Execute"), count("WaitExecution")], [1, 1]);
  });

  test("execute() runs again when WaitExecution says NOT_FOUND", async () => {
    script.execute = (call, n) => {
      if (n === 1) {
        call.write(stageOp("operations/lost", 2));
        call.end(); // stream ends without done
      } else {
        call.write(doneOp("operations/2", { result: { exitCode: 0 }, cachedResult: false }));
        call.end();
      }
    };
    await withClient({}, async (c) => assert.equal((await c.execute(digestOf(randomBytes(3)))).result?.exitCode, 0));
    assert.deepEqual([count("Execute"), count("WaitExecution")], [2, 1]);
    assert.equal((script.calls.find((x) => x.method === "WaitExecution")!.request as R.IWaitExecutionRequest).name, "operations/lost");
  });

  test("execute() executes again when the backend completes the operation with status UNAVAILABLE (a lost worker), a bounded number of times", async () => {
    const lostMsg = "Worker {\"host\":\"w2\"} disappeared while task was executing";
    script.execute = (call, n) => {
      call.write(stageOp(`operations/${n}`, 3));
      call.write(doneOp(`operations/${n}`, n < 3 ? { status: { code: Code.Unavailable, message: lostMsg } } : { result: { exitCode: 0 } }));
      call.end();
    };
    const retries: string[] = [];
    const hooked: string[] = [];
    const d = digestOf(randomBytes(3));
    await withClient({ onExecuteRetry: (digest, m, n) => hooked.push(`${digest.hash === d.hash} ${n} ${m}`) }, async (c) => {
      const res = await c.execute(d, { onRetry: (m, n) => retries.push(`${n} ${m}`) });
      assert.equal(res.result?.exitCode, 0);
      assert.equal(res.status?.code ?? 0, 0);
    });
    assert.equal(count("Execute"), 3);
    assert.deepEqual(retries, [`1 ${lostMsg}`, `2 ${lostMsg}`]);
    assert.deepEqual(hooked, [`true 1 ${lostMsg}`, `true 2 ${lostMsg}`]);

    // Lost every time: after MAX_LOST_RETRIES new executions the UNAVAILABLE response is returned as data.
    script.calls = [];
    script.execute = (call, n) => {
      call.write(doneOp(`operations/x${n}`, { status: { code: Code.Unavailable, message: lostMsg } }));
      call.end();
    };
    await withClient({}, async (c) => assert.equal((await c.execute(digestOf(randomBytes(3)))).status?.code, Code.Unavailable));
    assert.equal(count("Execute"), 1 + MAX_LOST_RETRIES);

    // Other statuses are the action's result, not retried.
    script.calls = [];
    script.execute = (call) => {
      call.write(doneOp("operations/t", { status: { code: Code.DeadlineExceeded, message: "timeout" } }));
      call.end();
    };
    await withClient({}, async (c) => assert.equal((await c.execute(digestOf(randomBytes(3)))).status?.code, Code.DeadlineExceeded));
    assert.equal(count("Execute"), 1);
  });

  test("execute() keeps the code and message of a failed Execute call verbatim", async () => {
    const msg = 'No workers exist for instance name "" platform {"properties":[{"name":"OSFamily","value":"Linux"}]}';
    script.execute = (call) => call.emit("error", fail(grpc.status.FAILED_PRECONDITION, msg));
    await withClient({}, (c) => assert.rejects(c.execute(digestOf(randomBytes(3))),
      (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition && e.rawMessage === msg));
    assert.equal(count("Execute"), 1);
  });

  test("execute() turns Operation.error into a GomaError", async () => {
    script.execute = (call) => {
      call.write({ name: "operations/e", done: true, error: { code: Code.ResourceExhausted, message: "queue full" } });
      call.end();
    };
    await withClient({}, (c) => assert.rejects(c.execute(digestOf(randomBytes(3))), isCode(Code.ResourceExhausted, /^queue full$/)));
  });

  test("execute() stops with Canceled when the signal aborts", async () => {
    const ac = new AbortController();
    script.execute = (call) => call.write(stageOp("operations/slow", 2)); // never finishes
    await withClient({}, (c) => assert.rejects(
      c.execute(digestOf(randomBytes(3)), { signal: ac.signal, onStage: () => ac.abort() }), isCode(Code.Canceled)));
  });
});
