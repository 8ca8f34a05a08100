/**
 * ExecAdapter (`/e`: ExecReq → REAPI → ExecResp) through its public API, over the in-memory REAPI of
 * fake-reapi.ts: each test builds an ExecReq as the proxy sends it, calls `exec()`, and checks the
 * ExecResp and the REAPI calls the adapter made.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { goma, type IExecReq } from "../goma/proto.ts";
import { blobHashKey, serializeBlob } from "../goma/file-blob.ts";
import { R } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import { ExecAdapter } from "./exec.ts";
import { type FakeExecution, FakeReapi, type FakeRunner, missingStatus } from "./fake-reapi.ts";
import { FileStore } from "./file-store.ts";
import { EXEC_ROOT_MARKER } from "./wrapper.ts";

const utf8 = new TextEncoder();
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();
const CWD = "/home/u/proj";
const SOURCE = "int main(void) { return 0; }\n";

/** A FILE blob with `content`, as the proxy embeds a new file. */
const fileBlob = (content: string) => ({ blobType: goma.FileBlob.BlobType.FILE, content: utf8.encode(content), fileSize: utf8.encode(content).byteLength });

/** An ExecReq for `gcc -c a.c -o a.o` in {@link CWD}, with `a.c` embedded; `over` replaces fields. */
function execReq(over: Partial<IExecReq> = {}): IExecReq {
  return {
    commandSpec: { name: "gcc", version: "12.2.0", target: "x86_64-linux-gnu" },
    arg: ["gcc", "-c", "a.c", "-o", "a.o"],
    cwd: CWD,
    input: [{ filename: "a.c", hashKey: blobHashKey(serializeBlob(fileBlob(SOURCE))), content: fileBlob(SOURCE) }],
    expectedOutputFiles: ["a.o"],
    ...over,
  };
}

/** stderr as the remote wrapper writes it: its exec-root line, then the compiler's. */
const wrapperStderr = (s = "") => `${EXEC_ROOT_MARKER}/worker/exec/1\n${s}`;

/** A fake compiler: `a.o` = "object of " + a.c, with the wrapper's stderr line. */
async function compile(x: FakeExecution): Promise<R.IActionResult> {
  const src = x.inputs.get("a.c");
  assert.ok(src, "a.c is in the input root");
  return {
    exitCode: 0,
    outputFiles: [await x.output("a.o", `object of ${text(src.data)}`)],
    stdoutDigest: await x.blob("compiled\n"),
    stderrDigest: await x.blob(wrapperStderr()),
  };
}

function setup(run: FakeRunner = compile) {
  const reapi = new FakeReapi({ run });
  const files = new FileStore();
  const adapter = new ExecAdapter({ reapi, files });
  return { reapi, files, adapter };
}

describe("ExecAdapter", () => {
  test("exec() runs the action and maps the ActionResult to the ExecResp: exit status, stdout, stderr, outputs", async () => {
    const { reapi, adapter } = setup();
    const resp = await adapter.exec(execReq());
    assert.equal(resp.error ?? 0, 0);
    assert.equal(resp.result?.exitStatus, 0);
    assert.equal(text(resp.result?.stdoutBuffer), "compiled\n");
    assert.equal(text(resp.result?.stderrBuffer), "", "the wrapper's exec-root line is stripped");
    assert.deepEqual(resp.result?.output?.map((o) => [o.filename, o.blob?.blobType, text(o.blob?.content)]),
      [["a.o", goma.FileBlob.BlobType.FILE, `object of ${SOURCE}`]]);
    assert.equal(resp.cacheHit, goma.ExecResp.CacheSource.NO_CACHE);
    assert.deepEqual(reapi.calls.map((c) => c.method), ["getActionResult", "findMissingBlobs", "uploadBlobs", "execute", "readBlob", "readBlob", "readBlob"],
      "stderr, stdout and a.o are read from the CAS");
    assert.equal(adapter.stats.executed, 1);

    const command = R.Command.decode(await commandOf(reapi));
    assert.deepEqual(command.outputPaths, ["a.o"]);
    assert.deepEqual(command.arguments.slice(1), ["gcc", "-c", "a.c", "-o", "a.o"], "argv runs through the wrapper");
  });

  test("exec() answers missing_input, without calling the backend, for an input the server has no content for", async () => {
    const { reapi, adapter } = setup();
    const resp = await adapter.exec(execReq({
      input: [...execReq().input!, { filename: "b.h", hashKey: "0".repeat(64) }],
    }));
    assert.deepEqual(resp.missingInput, ["b.h"]);
    assert.match(resp.missingReason?.[0] ?? "", /not in the server's file cache/);
    assert.equal(resp.result?.exitStatus, -1);
    assert.equal(reapi.calls.length, 0);
    assert.equal(adapter.stats.missingInputReplies, 1);
  });

  test("exec() of a request the action cache answers does not Execute and reports STORAGE_CACHE", async () => {
    const { reapi, adapter } = setup();
    await adapter.exec(execReq());
    const before = reapi.callsOf("execute").length;
    const again = await adapter.exec(execReq());
    assert.equal(reapi.callsOf("execute").length, before, "no Execute for a hit");
    assert.equal(again.cacheHit, goma.ExecResp.CacheSource.STORAGE_CACHE);
    assert.equal(text(again.result?.output?.[0]?.blob?.content), `object of ${SOURCE}`);
    assert.equal(adapter.stats.cacheHits, 1);
  });

  test("exec() with STORE_ONLY skips the lookup and asks Execute to skip it too", async () => {
    const { reapi, adapter } = setup();
    await adapter.exec(execReq());
    await adapter.exec(execReq({ cachePolicy: goma.ExecReq.CachePolicy.STORE_ONLY }));
    assert.equal(reapi.callsOf("getActionResult").length, 1);
    assert.deepEqual(reapi.callsOf("execute").map((c) => c.skipCacheLookup), [false, true]);
  });

  test("exec() of a failing compile is a result: its exit status and stderr, no outputs", async () => {
    const { adapter } = setup(async (x) => ({ exitCode: 1, stderrDigest: await x.blob(wrapperStderr("a.c:1: error: expected ';'\n")) }));
    const resp = await adapter.exec(execReq());
    assert.equal(resp.error ?? 0, 0);
    assert.equal(resp.result?.exitStatus, 1);
    assert.equal(text(resp.result?.stderrBuffer), "a.c:1: error: expected ';'\n");
    assert.deepEqual(resp.result?.output, []);
  });

  test("exec() rejects with the backend's code and names the step when Execute fails", async () => {
    const { reapi, adapter } = setup();
    reapi.failWith("execute", new GomaError(Code.Unavailable, "connection reset"));
    await assert.rejects(adapter.exec(execReq()), (e: unknown) =>
      e instanceof GomaError && e.code === Code.Unavailable &&
      e.rawMessage === `Execute on the REAPI backend (instance name "") failed: connection reset`);
    assert.equal(adapter.stats.errors, 1);
  });

  test("exec() rejects with the status's code when the remote execution fails", async () => {
    const { adapter } = setup(() => ({ response: { status: { code: Code.DeadlineExceeded, message: "action timed out after 900s" } } }));
    await assert.rejects(adapter.exec(execReq()), (e: unknown) =>
      e instanceof GomaError && e.code === Code.DeadlineExceeded &&
      e.rawMessage === `remote execution on the REAPI backend (instance name "") failed: action timed out after 900s`);
  });

  test("exec() rejects when the action cache cannot be asked, before uploading anything", async () => {
    const { reapi, adapter } = setup();
    reapi.failWith("getActionResult", new GomaError(Code.PermissionDenied, "no access to instance"));
    await assert.rejects(adapter.exec(execReq()), (e: unknown) =>
      e instanceof GomaError && e.code === Code.PermissionDenied && /^GetActionResult on the REAPI backend/.test(e.rawMessage));
    assert.deepEqual(reapi.calls.map((c) => c.method), ["getActionResult"]);
  });

  test("exec() uploads a blob the backend lost since FindMissingBlobs again and retries Execute", async () => {
    let lost = true;
    const { reapi, adapter } = setup(async (x) => {
      if (lost) {
        lost = false;
        const source = digestOf(utf8.encode(SOURCE));
        return { response: { status: missingStatus([source]) } };
      }
      return compile(x);
    });
    const resp = await adapter.exec(execReq());
    assert.equal(resp.result?.exitStatus, 0);
    assert.equal(reapi.callsOf("execute").length, 2);
    assert.ok(reapi.callsOf("uploadBlobs")[1]?.digests.some((d) => d.hash === digestOf(utf8.encode(SOURCE)).hash),
      "the lost source is uploaded again from the server's file cache");
  });

  test("exec() asks the client for an input the backend lost during Execute that the server no longer holds", async () => {
    // The server knows a.c's digest (seen before) but not its content, and the CAS has it at
    // FindMissingBlobs time; Execute then reports it MISSING: only the client can send it again.
    const source = digestOf(utf8.encode(SOURCE));
    const key = execReq().input![0]!.hashKey!;
    const reapi = new FakeReapi({ run: () => ({ response: { status: missingStatus([source]) } }) });
    await reapi.cas.put(source, utf8.encode(SOURCE));
    const files = new FileStore();
    files.setDigest(key, source);
    const adapter = new ExecAdapter({ reapi, files });
    const resp = await adapter.exec(execReq({ input: [{ filename: "a.c", hashKey: key }] }));
    assert.deepEqual(resp.missingInput, ["a.c"]);
    assert.match(resp.missingReason?.[0] ?? "", /^CAS lost /);
    assert.equal(reapi.callsOf("execute").length, 1);
  });

  test("exec() answers missing_input when the CAS lacks an input whose content the server does not hold", async () => {
    const source = digestOf(utf8.encode(SOURCE));
    const key = execReq().input![0]!.hashKey!;
    const reapi = new FakeReapi();
    const files = new FileStore();
    files.setDigest(key, source);
    const resp = await new ExecAdapter({ reapi, files }).exec(execReq({ input: [{ filename: "a.c", hashKey: key }] }));
    assert.deepEqual(resp.missingInput, ["a.c"]);
    assert.deepEqual(resp.missingReason, ["content not in the server's file cache"]);
    assert.equal(reapi.callsOf("uploadBlobs").length, 0);
    assert.equal(reapi.callsOf("execute").length, 0);
  });

  test("exec() refuses a request without expected outputs as BAD_REQUEST", async () => {
    const { reapi, adapter } = setup();
    const resp = await adapter.exec(execReq({ expectedOutputFiles: [] }));
    assert.equal(resp.error, goma.ExecResp.ExecError.BAD_REQUEST);
    assert.match(resp.errorMessage?.[0] ?? "", /expected_output_files is empty/);
    assert.equal(reapi.calls.length, 0);
  });
});

/** The Command of the only action the fake executed. */
async function commandOf(reapi: FakeReapi): Promise<Uint8Array> {
  const [call] = reapi.callsOf("execute");
  const action = R.Action.decode((await reapi.cas.get(call!.digests[0]!))!);
  return (await reapi.cas.get({ hash: action.commandDigest!.hash!, sizeBytes: Number(action.commandDigest!.sizeBytes) }))!;
}
