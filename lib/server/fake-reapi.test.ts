import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { R, rpc } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import { FakeReapi } from "./fake-reapi.ts";
import { buildInputTree } from "./input-tree.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** An action running `argv` over one input file `src` (uploaded unless `upload` is false). */
async function action(reapi: FakeReapi, opts: { src?: string; upload?: boolean; doNotCache?: boolean } = {}) {
  const src = enc(opts.src ?? "int x;\n");
  const tree = buildInputTree([{ path: "dir/a.c", digest: digestOf(src), isExecutable: false }], [], []);
  const command = R.Command.encode({ arguments: ["cc", "-c", "dir/a.c"], outputPaths: ["a.o"] }).finish();
  const act = R.Action.encode({ commandDigest: digestOf(command), inputRootDigest: tree.rootDigest, doNotCache: opts.doNotCache }).finish();
  const blobs = [{ digest: digestOf(command), data: command }, { digest: digestOf(act), data: act },
    ...[...tree.directories.values()].map((d) => ({ digest: d.digest, data: d.bytes }))];
  if (opts.upload !== false) blobs.push({ digest: digestOf(src), data: src });
  await reapi.uploadBlobs(blobs);
  return { actionDigest: digestOf(act), src: digestOf(src) };
}

describe("FakeReapi", () => {
  test("execute() runs the function with the Command and the input root, caches a success, and serves it as cached", async () => {
    const reapi = new FakeReapi({
      run: async (x) => ({ exitCode: 0, outputFiles: [await x.output("a.o", `obj of ${Buffer.from(x.inputs.get("dir/a.c")!.data)}`)] }),
    });
    const { actionDigest } = await action(reapi);
    const first = await reapi.execute(actionDigest);
    assert.equal(first.cachedResult ?? false, false);
    const out = first.result!.outputFiles![0]!;
    assert.equal(Buffer.from(await reapi.readBlob({ hash: out.digest!.hash!, sizeBytes: Number(out.digest!.sizeBytes) })).toString(), "obj of int x;\n");
    assert.equal((await reapi.execute(actionDigest)).cachedResult, true);
    assert.ok(await reapi.getActionResult(actionDigest));
    assert.equal((await reapi.execute(actionDigest, { skipCacheLookup: true })).cachedResult ?? false, false);
  });

  test("execute() answers FAILED_PRECONDITION naming each missing input blob", async () => {
    const reapi = new FakeReapi();
    const { actionDigest, src } = await action(reapi, { upload: false });
    const res = await reapi.execute(actionDigest);
    assert.equal(res.status?.code, Code.FailedPrecondition);
    const failure = rpc.PreconditionFailure.decode(res.status!.details![0]!.value!);
    assert.deepEqual(failure.violations.map((v) => [v.type, v.subject]), [["MISSING", `blobs/${src.hash}/${src.sizeBytes}`]]);
    await assert.rejects(reapi.execute(digestOf(enc("no such action"))), (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition);
  });

  test("failures and doNotCache actions are not cached", async () => {
    const reapi = new FakeReapi({ run: () => ({ exitCode: 1 }) });
    const failing = await action(reapi, { src: "bad" });
    await reapi.execute(failing.actionDigest);
    assert.equal(await reapi.getActionResult(failing.actionDigest), undefined);
    reapi.run = () => ({ exitCode: 0 });
    const uncached = await action(reapi, { src: "nocache", doNotCache: true });
    await reapi.execute(uncached.actionDigest);
    assert.equal(await reapi.getActionResult(uncached.actionDigest), undefined);
  });

  test("failWith() fails the next calls of one method, in order, and calls are recorded", async () => {
    const reapi = new FakeReapi();
    reapi.failWith("findMissingBlobs", new GomaError(Code.Unavailable, "first"));
    reapi.failWith("findMissingBlobs", new GomaError(Code.Internal, "second"));
    await assert.rejects(reapi.findMissingBlobs([]), (e: unknown) => (e as GomaError).rawMessage === "first");
    await assert.rejects(reapi.findMissingBlobs([]), (e: unknown) => (e as GomaError).rawMessage === "second");
    assert.deepEqual(await reapi.findMissingBlobs([digestOf(enc("x"))]), [digestOf(enc("x"))]);
    assert.equal(reapi.callsOf("findMissingBlobs").length, 3);
    await assert.rejects(reapi.readBlob(digestOf(enc("x"))), (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
    await assert.rejects(reapi.uploadBlobs([{ digest: digestOf(enc("x")), data: enc("y") }]),
      (e: unknown) => e instanceof GomaError && e.code === Code.InvalidArgument);
  });
});
