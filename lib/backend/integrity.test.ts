/**
 * Integrity of the embedded backend, through the real client and real processes: a stored blob can never
 * be changed by an action (inputs are copies), outputs are never collected through a symlink out of the
 * action root nor are directories created outside it, and corrupt blobs are never served: a corrupt input
 * is reported MISSING (so it is uploaded again), and an action-cache entry whose outputs are corrupt is a
 * miss (so the action runs again).
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Digest, digestOf, toDigest } from "../digest/digest.ts";
import { ReapiClient } from "../reapi/client.ts";
import { build, google } from "../reapi/proto.ts";
import { Code } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { buildTestAction, REAPI_SEMANTICS_TEST_OPTIONS, TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";
import R = build.bazel.remote.execution.v2;

const enc = (s: string) => new TextEncoder().encode(s);
const text = async (c: ReapiClient, d: R.IDigest | null | undefined) => Buffer.from(await c.readBlob(toDigest(d))).toString();

let dataDir: string;
let backend: EmbeddedBackend;
let client: ReapiClient;
const casPath = (d: Digest) => join(dataDir, "cas", d.hash.slice(0, 2), d.hash);

/** Flips one bit of a stored blob in place, keeping its size. */
async function flip(d: Digest, offset = 0): Promise<void> {
  const p = casPath(d);
  const data = await readFile(p);
  data[offset] = data[offset]! ^ 0x01;
  await chmod(p, 0o644);
  await writeFile(p, data);
  await chmod(p, 0o444);
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "goma-integrity-"));
  backend = await startEmbeddedBackend({ dataDir, ...REAPI_SEMANTICS_TEST_OPTIONS });
  client = new ReapiClient({ target: backend.address, instanceName: "" });
});
after(async () => {
  client.close();
  await backend.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("the embedded backend keeps stored blobs intact", () => {
  test("an action writing into one of its inputs does not change the stored blob", async () => {
    const input = "#define VALUE 1\n";
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "chmod u+w in/value.h; echo '#define VALUE 666' > in/value.h; cat in/value.h"],
      env: TEST_PATH_ENV, inputs: { "in/value.h": { data: input } },
    });
    const res = await client.execute(a.actionDigest);
    assert.equal(res.result?.exitCode, 0, await text(client, res.result?.stderrDigest));
    assert.equal(await text(client, res.result?.stdoutDigest), "#define VALUE 666\n", "the action wrote its own copy");
    const d = digestOf(enc(input));
    assert.equal(await readFile(casPath(d), "utf8"), input, "the stored blob is unchanged");
    assert.equal(Buffer.from(await client.readBlob(d)).toString(), input);
  });
});

describe("outputs are collected inside the action root only", () => {
  test("an output under a symlink the action made to /etc (lnk/shadow) is not collected", async () => {
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "rmdir lnk; ln -s /etc lnk"], env: TEST_PATH_ENV, outputPaths: ["lnk/shadow", "lnk/passwd"],
    });
    const res = await client.execute(a.actionDigest);
    const files = res.result?.outputFiles ?? [];
    assert.deepEqual(files.map((f) => f.path), [], "nothing read through the symlink");
    assert.notEqual(res.status?.code ?? 0, Code.OK, "the action fails: its outputs go through a symlink");
    assert.match(res.status?.message ?? "", /"lnk\/(shadow|passwd)" goes through the symlink "lnk"/);
  });

  test("legacy output_files under such a symlink are not followed either", async () => {
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "rmdir lnk; ln -s /etc lnk; ln -s /etc/passwd direct"], env: TEST_PATH_ENV,
      outputFiles: ["lnk/passwd", "direct"],
    });
    const res = await client.execute(a.actionDigest);
    const passwd = await readFile("/etc/passwd");
    for (const f of res.result?.outputFiles ?? []) {
      assert.notDeepEqual(Buffer.from(await client.readBlob(toDigest(f.digest))), passwd, `${f.path} is /etc/passwd`);
    }
  });

  test("an output directory under an input symlink creates no directory outside the action dir", async () => {
    const outside = await mkdtemp(join(tmpdir(), "goma-outside-"));
    try {
      const a = await uploadTestAction(client, {
        argv: ["/bin/true"], symlinks: { lnk: outside }, outputPaths: ["lnk/sub/obj.o", "lnk/gen"], salt: outside,
      });
      const res = await client.execute(a.actionDigest);
      assert.deepEqual(await readdir(outside), [], "nothing was created outside");
      assert.equal(res.status?.code, Code.InvalidArgument);
      assert.match(res.status?.message ?? "", /goes through the symlink "lnk"/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test("outputs in real directories are still collected, an output symlink stays a symlink", async () => {
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "echo o > out/o.txt; ln -s /etc/passwd out/l"], env: TEST_PATH_ENV, outputPaths: ["out/o.txt", "out/l"],
    });
    const res = await client.execute(a.actionDigest);
    assert.equal(res.status?.code ?? 0, Code.OK, res.status?.message ?? "");
    assert.deepEqual(res.result?.outputFiles?.map((f) => f.path), ["out/o.txt"]);
    assert.deepEqual(res.result?.outputSymlinks?.map((l) => [l.path, l.target]), [["out/l", "/etc/passwd"]]);
  });
});

describe("corrupt blobs are never served", () => {
  test("a corrupt input blob answers FAILED_PRECONDITION MISSING for it; once uploaded again the action runs", async () => {
    const input = "int corrupted_input = 1;\n";
    const spec = { argv: ["/bin/cat", "src/in.h"], inputs: { "src/in.h": { data: input } }, salt: "corrupt input" };
    const built = buildTestAction(spec);
    await client.uploadBlobs(built.blobs);
    const d = digestOf(enc(input));
    await flip(d, 5);
    const res = await client.execute(built.actionDigest);
    assert.equal(res.status?.code, Code.FailedPrecondition, res.status?.message ?? "");
    const pf = google.rpc.PreconditionFailure.decode(res.status!.details![0]!.value!);
    assert.deepEqual(pf.violations.map((v) => [v.type, v.subject]), [["MISSING", `blobs/${d.hash}/${d.sizeBytes}`]]);
    assert.deepEqual(await client.findMissingBlobs([d]), [d]);
    await client.uploadBlobs([{ digest: d, data: enc(input) }]);
    const ok = await client.execute(built.actionDigest);
    assert.equal(await text(client, ok.result?.stdoutDigest), input);
  });

  test("an action-cache entry whose output blob is corrupt is a miss, and Execute runs the action again", async () => {
    const a = await uploadTestAction(client, {
      argv: ["/bin/sh", "-c", "echo fresh object > out.o"], env: TEST_PATH_ENV, outputPaths: ["out.o"], salt: "corrupt output",
    });
    const first = await client.execute(a.actionDigest);
    const out = toDigest(first.result!.outputFiles![0]!.digest);
    assert.ok(await client.getActionResult(a.actionDigest));
    await flip(out, 2);
    assert.equal(await client.getActionResult(a.actionDigest), undefined, "GetActionResult: a miss");
    const again = await client.execute(a.actionDigest);
    assert.equal(again.cachedResult, false, "Execute ran it again");
    assert.equal(await text(client, again.result?.outputFiles?.[0]?.digest), "fresh object\n");
    assert.equal(await readFile(casPath(out), "utf8"), "fresh object\n", "the blob was stored again");
    assert.equal((await client.execute(a.actionDigest)).cachedResult, true);
  });

  test("a corrupt action-cache entry is a miss", async () => {
    const a = await uploadTestAction(client, { argv: ["/bin/echo", "entry"], salt: "corrupt entry" });
    await client.execute(a.actionDigest);
    const acDir = join(dataDir, "ac");
    let flipped = 0;
    for (const sub of await readdir(acDir)) {
      if (sub === "tmp") continue;
      for (const f of await readdir(join(acDir, sub))) {
        const p = join(acDir, sub, f);
        const data = await readFile(p);
        data[data.length - 1] = data[data.length - 1]! ^ 0x01;
        await writeFile(p, data);
        flipped++;
      }
    }
    assert.ok(flipped > 0);
    assert.equal(await client.getActionResult(a.actionDigest), undefined);
    assert.equal((await client.execute(a.actionDigest)).cachedResult, false);
    assert.equal(existsSync(acDir), true);
  });
});
