/**
 * Execution on the embedded backend through the real client: real processes, outputs, caching rules,
 * missing inputs, platform matching, environment, timeouts, for the empty and a named instance.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { toDigest } from "../digest/digest.ts";
import { ReapiClient } from "../reapi/client.ts";
import { build, google } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { buildTestAction, REAPI_SEMANTICS_TEST_OPTIONS, TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";
import R = build.bazel.remote.execution.v2;

const text = async (c: ReapiClient, d: R.IDigest | null | undefined) => Buffer.from(await c.readBlob(toDigest(d))).toString();
const fileOf = (res: R.IExecuteResponse, path: string) => res.result?.outputFiles?.find((f) => f.path === path);

let dataDir: string;
let backend: EmbeddedBackend;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "goma-exec-"));
  backend = await startEmbeddedBackend({ dataDir , ...REAPI_SEMANTICS_TEST_OPTIONS });
});
after(async () => {
  await backend.close();
  await rm(dataDir, { recursive: true, force: true });
});

for (const instanceName of ["", "hardlinking"]) {
  describe(`Execute on the embedded backend (instance "${instanceName}")`, () => {
    let client: ReapiClient;
    before(() => { client = new ReapiClient({ target: backend.address, instanceName }); });
    after(() => client.close());

    test("execute() runs a real action: output file, stdout, stderr, exit code, stages", async () => {
      const a = await uploadTestAction(client, {
        argv: ["/bin/sh", "-c", "echo hi > out/o.txt; echo err >&2"], env: TEST_PATH_ENV, outputPaths: ["out/o.txt"],
      });
      const stages: number[] = [];
      const res = await client.execute(a.actionDigest, { onStage: (s) => stages.push(s) });
      assert.equal(res.status?.code ?? 0, Code.OK);
      assert.equal(res.cachedResult, false);
      assert.equal(res.result?.exitCode, 0);
      assert.equal(await text(client, fileOf(res, "out/o.txt")?.digest), "hi\n");
      assert.equal(fileOf(res, "out/o.txt")?.isExecutable, false);
      assert.equal(await text(client, res.result?.stdoutDigest), "");
      assert.equal(await text(client, res.result?.stderrDigest), "err\n");
      assert.deepEqual(stages, [R.ExecutionStage.Value.QUEUED, R.ExecutionStage.Value.EXECUTING, R.ExecutionStage.Value.COMPLETED]);
      const md = res.result!.executionMetadata!;
      assert.equal(md.worker, "embedded");
      assert.ok(Number(md.executionStartTimestamp!.seconds) >= Number(md.queuedTimestamp!.seconds));
      assert.ok(Number(md.workerCompletedTimestamp!.seconds) >= Number(md.executionCompletedTimestamp!.seconds));
      assert.deepEqual(await readdir(join(dataDir, "exec")), [], "the action directory is removed");

      // Cached: GetActionResult finds it, Execute answers cached_result, skip_cache_lookup runs again.
      const cached = await client.getActionResult(a.actionDigest, { inlineStderr: true });
      assert.equal(Buffer.from(cached!.stderrRaw!).toString(), "err\n");
      const again = await client.execute(a.actionDigest);
      assert.equal(again.cachedResult, true);
      assert.equal(await text(client, fileOf(again, "out/o.txt")?.digest), "hi\n");
      const rerun = await client.execute(a.actionDigest, { skipCacheLookup: true });
      assert.equal(rerun.cachedResult, false);
      assert.equal(rerun.result?.exitCode, 0);
    });

    test("a failing action (exit 3) is not cached", async () => {
      const a = await uploadTestAction(client, { argv: ["/bin/sh", "-c", "echo failing; exit 3"], env: TEST_PATH_ENV });
      const res = await client.execute(a.actionDigest);
      assert.equal(res.result?.exitCode, 3);
      assert.equal(res.status?.code ?? 0, Code.OK);
      assert.equal(await text(client, res.result?.stdoutDigest), "failing\n");
      assert.equal(await client.getActionResult(a.actionDigest), undefined);
      assert.equal((await client.execute(a.actionDigest)).cachedResult, false);
    });

    test("do_not_cache actions are not cached", async () => {
      const a = await uploadTestAction(client, { argv: ["/bin/true"], doNotCache: true });
      assert.equal((await client.execute(a.actionDigest)).result?.exitCode, 0);
      assert.equal(await client.getActionResult(a.actionDigest), undefined);
    });

    test("missing inputs answer FAILED_PRECONDITION with MISSING violations, then run once uploaded", async () => {
      const spec = { argv: ["/bin/cat", "in/a.txt"], inputs: { "in/a.txt": { data: `input for "${instanceName}"` } } };
      const built = buildTestAction(spec);
      const input = built.blobs.find((b) => new TextDecoder().decode(b.data) === `input for "${instanceName}"`)!;
      await client.uploadBlobs(built.blobs.filter((b) => b !== input));
      const res = await client.execute(built.actionDigest);
      assert.equal(res.status?.code, Code.FailedPrecondition);
      const detail = res.status!.details![0]!;
      assert.equal(detail.type_url, "type.googleapis.com/google.rpc.PreconditionFailure");
      const pf = google.rpc.PreconditionFailure.decode(detail.value!);
      assert.deepEqual(pf.violations.map((v) => [v.type, v.subject]),
        [["MISSING", `blobs/${input.digest.hash}/${input.digest.sizeBytes}`]]);
      await client.uploadBlobs([input]);
      const ok = await client.execute(built.actionDigest);
      assert.equal(await text(client, ok.result?.stdoutDigest), `input for "${instanceName}"`);
    });

    test("a missing Action fails the Execute call with FAILED_PRECONDITION", async () => {
      const built = buildTestAction({ argv: ["/bin/true"], salt: "never uploaded" });
      await assert.rejects(client.execute(built.actionDigest), (e: unknown) =>
        e instanceof GomaError && e.code === Code.FailedPrecondition && /Action [0-9a-f]{64}\/\d+ is not in the CAS/.test(e.rawMessage));
    });

    test("a platform mismatch fails with FAILED_PRECONDITION naming what was sent and offered", async () => {
      const a = await uploadTestAction(client, { argv: ["/bin/true"], platform: { OSFamily: "Linux" } });
      await assert.rejects(client.execute(a.actionDigest), (e: unknown) => e instanceof GomaError &&
        e.code === Code.FailedPrecondition &&
        e.rawMessage === `No workers exist for instance name "${instanceName}" platform ` +
          `{"properties":[{"name":"OSFamily","value":"Linux"}]}; this worker offers {"properties":[{"name":"OSFamily","value":"linux"}]}`);
      // Command.platform (deprecated) is ignored, as in Buildbarn: only Action.platform counts.
      const legacy = await uploadTestAction(client, { argv: ["/bin/true"], platform: {}, commandPlatform: { OSFamily: "Linux" } });
      await assert.rejects(client.execute(legacy.actionDigest), (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition);
      const preferred = await uploadTestAction(client, { argv: ["/bin/true"], commandPlatform: { OSFamily: "Linux" } });
      assert.equal((await client.execute(preferred.actionDigest)).result?.exitCode, 0);
    });
  });
}

describe("Execute details on the embedded backend", () => {
  let client: ReapiClient;
  before(() => { client = new ReapiClient({ target: backend.address, instanceName: "" }); });
  after(() => client.close());

  test("the environment is exactly the Command's; a bare argv[0] is found through its PATH", async () => {
    const a = await uploadTestAction(client, { argv: ["env"], env: { FOO: "bar baz", PATH: "/usr/bin:/bin" } });
    const res = await client.execute(a.actionDigest);
    assert.deepEqual((await text(client, res.result?.stdoutDigest)).trim().split("\n").sort(), ["FOO=bar baz", "PATH=/usr/bin:/bin"]);
    const missing = await uploadTestAction(client, { argv: ["no-such-tool-xyz"], env: TEST_PATH_ENV });
    const r2 = await client.execute(missing.actionDigest);
    assert.equal(r2.status?.code, Code.InvalidArgument);
    assert.match(r2.status!.message!, /"no-such-tool-xyz" not found in PATH "\/usr\/bin:\/bin"/);
  });

  test("inputs are materialized (read-only files, 0555 executables) and outputs collected", async () => {
    const script = [
      "#!/bin/sh", "set -e",
      "mkdir -p ../gen/sub/deeper && cat a.txt > ../gen/sub/copy && printf x > ../gen/sub/deeper/x",
      "stat -c '%a %n' a.txt ../tool.sh > ../gen/modes",
      "printf '#!/bin/sh\\n' > ../bin/run && chmod 755 ../bin/run",
      "ln -s sub/copy ../gen/link",
    ].join("\n");
    const a = await uploadTestAction(client, {
      argv: ["../tool.sh"], env: TEST_PATH_ENV, workingDirectory: "src", outputPaths: ["../gen", "../bin/run"],
      inputs: { "src/a.txt": { data: "alpha" }, "tool.sh": { data: script, executable: true } },
    });
    const res = await client.execute(a.actionDigest);
    assert.equal(res.result?.exitCode, 0, await text(client, res.result?.stderrDigest));
    assert.equal(fileOf(res, "../bin/run")?.isExecutable, true);
    const outDir = res.result!.outputDirectories!.find((d) => d.path === "../gen")!;
    assert.equal(outDir.isTopologicallySorted, true);
    const tree = R.Tree.decode(await client.readBlob(toDigest(outDir.treeDigest)));
    const byName = (dir: R.IDirectory | null | undefined, n: string) => dir?.files?.find((f) => f.name === n);
    assert.equal(await text(client, byName(tree.root, "modes")?.digest), "444 a.txt\n555 ../tool.sh\n");
    assert.deepEqual(tree.root?.directories?.map((d) => d.name), ["sub"]);
    assert.deepEqual(tree.root?.symlinks?.map((s) => [s.name, s.target]), [["link", "sub/copy"]]);
    const sub = tree.children.find((c) => c.files?.some((f) => f.name === "copy"))!;
    assert.equal(await text(client, byName(sub, "copy")?.digest), "alpha");
    assert.equal(tree.children.length, 2);
  });

  test("legacy output_files/output_directories are used when output_paths is empty", async () => {
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "echo f > o/file; mkdir d/dir; echo g > d/dir/g"], env: TEST_PATH_ENV,
      outputFiles: ["o/file"], outputDirectories: ["d/dir"],
    });
    const res = await client.execute(a.actionDigest);
    assert.equal(await text(client, fileOf(res, "o/file")?.digest), "f\n");
    assert.equal(res.result?.outputDirectories?.[0]?.path, "d/dir");
  });

  test("a timed-out action answers DEADLINE_EXCEEDED and its whole process group is killed", async () => {
    const pidDir = await mkdtemp(join(tmpdir(), "goma-pid-"));
    try {
      const a = await uploadTestAction(client, {
        argv: ["/bin/sh", "-c", `sleep 300 & echo $! > ${pidDir}/pid; echo started; wait`], env: TEST_PATH_ENV, timeoutSeconds: 3, // room for a loaded machine to start sh before the deadline
      });
      const res = await client.execute(a.actionDigest);
      assert.equal(res.status?.code, Code.DeadlineExceeded);
      assert.equal(await text(client, res.result?.stdoutDigest), "started\n");
      assert.equal(await client.getActionResult(a.actionDigest), undefined);
      const pid = Number(await readFile(join(pidDir, "pid"), "utf8"));
      const state = await readFile(`/proc/${pid}/stat`, "utf8").then((s) => s.split(") ")[1]![0], () => "gone");
      assert.ok(state === "gone" || state === "Z", `background child ${pid} is still alive (state ${state})`);
    } finally {
      await rm(pidDir, { recursive: true, force: true });
    }
  });

  test("an AC hit under one instance name is not a hit under another", async () => {
    const named = new ReapiClient({ target: backend.address, instanceName: "hardlinking" });
    try {
      const a = await uploadTestAction(client, { argv: ["/bin/echo", "shared"], salt: "per-instance" });
      assert.equal((await client.execute(a.actionDigest)).cachedResult, false);
      assert.equal((await client.execute(a.actionDigest)).cachedResult, true);
      assert.equal((await named.execute(a.actionDigest)).cachedResult, false);
    } finally {
      named.close();
    }
  });
});
