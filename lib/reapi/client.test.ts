/**
 * ReapiClient against the embedded backend over real gRPC on loopback: CAS round trips on both paths
 * (batch and ByteStream), digest verification in both directions, and the action cache, for the empty
 * instance name and a named one.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBackend, startEmbeddedBackend } from "../backend/embedded-backend.ts";
import { REAPI_SEMANTICS_TEST_OPTIONS } from "../backend/test-actions.ts";
import { type Digest, digestOf, EMPTY_DIGEST } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { ReapiClient } from "./client.ts";

const isCode = (code: Code, re?: RegExp) => (e: unknown) =>
  e instanceof GomaError && e.code === code && (!re || re.test(e.rawMessage));
const blob = (data: Uint8Array) => ({ digest: digestOf(data), data });
const MiB = 1024 * 1024;

for (const instanceName of ["", "hardlinking"]) {
  describe(`ReapiClient ↔ embedded backend (instance "${instanceName}")`, () => {
    let dataDir: string;
    let backend: EmbeddedBackend;
    let client: ReapiClient;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "goma-client-"));
      backend = await startEmbeddedBackend({ dataDir , ...REAPI_SEMANTICS_TEST_OPTIONS });
      client = new ReapiClient({ target: backend.address, instanceName, toolName: "goma-test" });
    });
    after(async () => {
      client.close();
      await backend.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    test("getCapabilities() reports the embedded capabilities and is cached", async () => {
      const caps = await client.getCapabilities();
      assert.equal(Number(caps.cacheCapabilities?.maxBatchTotalSizeBytes), 4 * MiB);
      assert.equal(caps.executionCapabilities?.execEnabled, true);
      assert.deepEqual(caps.cacheCapabilities?.digestFunctions, [1]);
      assert.equal(caps.highApiVersion?.minor, 3);
      assert.equal(await client.getCapabilities(), caps);
    });

    test("uploadBlobs() then findMissingBlobs() and readBlob() through batches", async () => {
      const small = [blob(randomBytes(100)), blob(randomBytes(70_000)), blob(new TextEncoder().encode(instanceName + "x"))];
      assert.deepEqual(await client.findMissingBlobs([...small.map((b) => b.digest), EMPTY_DIGEST]), small.map((b) => b.digest));
      await client.uploadBlobs([...small, { digest: EMPTY_DIGEST, data: new Uint8Array(0) }]);
      assert.deepEqual(await client.findMissingBlobs(small.map((b) => b.digest)), []);
      for (const b of small) assert.deepEqual(Buffer.from(await client.readBlob(b.digest)), Buffer.from(b.data));
      assert.equal((await client.readBlob(EMPTY_DIGEST)).byteLength, 0);
    });

    test("readBlobs() reads several blobs at once, small ones batched and large ones streamed, each verified", async () => {
      const small = [blob(randomBytes(300)), blob(randomBytes(2 * MiB)), blob(randomBytes(3 * MiB))];
      const big = blob(randomBytes(5 * MiB + 3));
      await client.uploadBlobs([...small, big]);
      const asked = [small[0]!.digest, big.digest, small[1]!.digest, small[0]!.digest, EMPTY_DIGEST, small[2]!.digest];
      const got = await client.readBlobs(asked);
      const key = (d: Digest) => `${d.hash}/${d.sizeBytes}`;
      assert.deepEqual([...got.keys()].sort(), [...new Set(asked.map(key))].sort());
      for (const b of [...small, big]) assert.ok(Buffer.from(got.get(key(b.digest))!).equals(b.data));
      assert.equal(got.get(key(EMPTY_DIGEST))!.byteLength, 0);
      const absent = digestOf(randomBytes(50));
      await assert.rejects(client.readBlobs([small[0]!.digest, absent]), isCode(Code.NotFound));
    });

    test("uploadBlobs() and readBlob() use ByteStream beyond the batch cap", async () => {
      // 5 MiB exceeds the server's 4 MiB batch limit: only ByteStream can carry it.
      const big = blob(randomBytes(5 * MiB + 17));
      await client.uploadBlobs([big]);
      assert.deepEqual(await client.findMissingBlobs([big.digest]), []);
      assert.ok(Buffer.from(await client.readBlob(big.digest)).equals(big.data));
      await client.uploadBlobs([big]); // already present: the server may end the write early
    });

    test("many small blobs are split into several batches", async () => {
      const c = new ReapiClient({ target: backend.address, instanceName, maxBatchBytes: 64 * 1024 });
      try {
        const blobs = Array.from({ length: 40 }, () => blob(randomBytes(5000)));
        await c.uploadBlobs(blobs);
        assert.deepEqual(await c.findMissingBlobs(blobs.map((b) => b.digest)), []);
      } finally {
        c.close();
      }
    });

    test("uploadBlobs() surfaces the server's rejection of data that does not match its digest", async () => {
      const wrongSmall = { digest: digestOf(new TextEncoder().encode("claimed")), data: new TextEncoder().encode("actual!") };
      await assert.rejects(client.uploadBlobs([wrongSmall]), isCode(Code.InvalidArgument, /has data with digest/));
      const data = randomBytes(3 * MiB);
      const wrongBig = { digest: digestOf(randomBytes(3 * MiB)), data };
      await assert.rejects(client.uploadBlobs([wrongBig]), isCode(Code.InvalidArgument, /has data with digest/));
      assert.deepEqual(await client.findMissingBlobs([wrongSmall.digest, wrongBig.digest]), [wrongSmall.digest, wrongBig.digest]);
    });

    test("readBlob() reports NotFound for an absent blob, and for one the backend finds corrupt", async () => {
      const absent = digestOf(randomBytes(10));
      await assert.rejects(client.readBlob(absent), isCode(Code.NotFound));
      await assert.rejects(client.readBlob(digestOf(randomBytes(3 * MiB))), isCode(Code.NotFound));
      for (const size of [1000, 3 * MiB]) {
        const b = blob(randomBytes(size));
        await client.uploadBlobs([b]);
        const path = join(dataDir, "cas", b.digest.hash.slice(0, 2), b.digest.hash);
        await chmod(path, 0o644);
        await writeFile(path, randomBytes(size)); // same size, different bytes
        // The embedded backend verifies what it serves (the client's own DataLoss check is the last line).
        await assert.rejects(client.readBlob(b.digest), isCode(Code.NotFound));
        assert.deepEqual(await client.findMissingBlobs([b.digest]), [b.digest], "the corrupt blob is gone: upload it again");
      }
    });

    test("getActionResult() misses with undefined; updateActionResult() stores per instance name", async () => {
      const action: Digest = digestOf(randomBytes(32));
      assert.equal(await client.getActionResult(action), undefined);
      const out = blob(new TextEncoder().encode("output"));
      await client.uploadBlobs([out]);
      await client.updateActionResult(action, { exitCode: 0, outputFiles: [{ path: "o", digest: out.digest }], stdoutDigest: out.digest });
      const got = await client.getActionResult(action, { inlineStdout: true });
      assert.equal(got?.outputFiles?.[0]?.path, "o");
      assert.equal(Buffer.from(got!.stdoutRaw!).toString(), "output");
      const other = new ReapiClient({ target: backend.address, instanceName: instanceName ? "" : "other" });
      try {
        assert.equal(await other.getActionResult(action), undefined);
      } finally {
        other.close();
      }
    });
  });
}
