/**
 * The embedded executor's concurrency limit, proven with what the actions themselves record rather than
 * timing: with concurrency 1, actions never overlap (a start/end log and a lock directory) and two
 * actions that can only finish together (a FIFO rendezvous) both time out; with concurrency 2 the same
 * rendezvous succeeds, showing that the check would catch overlapping actions.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ReapiClient } from "../reapi/client.ts";
import { Code } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { REAPI_SEMANTICS_TEST_OPTIONS, TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";

/** Two actions that block until both run at once: one writes the FIFO, the other reads it. */
function rendezvousActions(fifo: string, timeoutSeconds: number) {
  return [
    { argv: ["/bin/sh", "-c", `echo ping > ${fifo}`], env: TEST_PATH_ENV, timeoutSeconds },
    { argv: ["/bin/sh", "-c", `cat ${fifo}`], env: TEST_PATH_ENV, timeoutSeconds },
  ];
}

async function withBackend(concurrency: number, fn: (client: ReapiClient, shared: string, dataDir: string) => Promise<void>) {
  const dataDir = await mkdtemp(join(tmpdir(), "goma-conc-"));
  const shared = await mkdtemp(join(tmpdir(), "goma-shared-"));
  const backend: EmbeddedBackend = await startEmbeddedBackend({ dataDir, concurrency , ...REAPI_SEMANTICS_TEST_OPTIONS });
  const client = new ReapiClient({ target: backend.address, instanceName: "" });
  try {
    await fn(client, shared, dataDir);
  } finally {
    client.close();
    await backend.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(shared, { recursive: true, force: true });
  }
}

describe("EmbeddedExecutor concurrency", () => {
  test("with concurrency 1, actions never overlap (log and lock written by the actions)", async () => {
    await withBackend(1, async (client, shared) => {
      const actions = await Promise.all(Array.from({ length: 5 }, (_, i) => uploadTestAction(client, {
        argv: ["/bin/sh", "-c", [
          `mkdir ${shared}/lock || echo "overlap ${i}" >> ${shared}/overlaps`,
          `echo "start ${i}" >> ${shared}/log`,
          // some work, so that an overlapping action would have time to start
          `for f in 1 2 3 4 5 6 7 8 9 10; do ls / > /dev/null; done`,
          `echo "end ${i}" >> ${shared}/log`,
          `rmdir ${shared}/lock`,
        ].join("; ")],
        env: TEST_PATH_ENV,
      })));
      const results = await Promise.all(actions.map((a) => client.execute(a.actionDigest)));
      assert.deepEqual(results.map((r) => r.result?.exitCode), [0, 0, 0, 0, 0]);
      assert.deepEqual(await readdir(shared), ["log"], "no action saw the lock taken");
      const lines = (await readFile(join(shared, "log"), "utf8")).trim().split("\n");
      assert.equal(lines.length, 10);
      for (let i = 0; i < lines.length; i += 2) {
        const id = lines[i]!.split(" ")[1];
        assert.deepEqual([lines[i], lines[i + 1]], [`start ${id}`, `end ${id}`]);
      }
    });
  });

  test("with concurrency 1, two actions that must run together both time out", async () => {
    await withBackend(1, async (client, shared) => {
      const fifo = join(shared, "fifo");
      execFileSync("mkfifo", [fifo]);
      const actions = await Promise.all(rendezvousActions(fifo, 1).map((s) => uploadTestAction(client, s)));
      const results = await Promise.all(actions.map((a) => client.execute(a.actionDigest)));
      assert.deepEqual(results.map((r) => r.status?.code), [Code.DeadlineExceeded, Code.DeadlineExceeded]);
    });
  });

  test("with concurrency 2, the same two actions run together and succeed", async () => {
    await withBackend(2, async (client, shared) => {
      const fifo = join(shared, "fifo");
      execFileSync("mkfifo", [fifo]);
      const actions = await Promise.all(rendezvousActions(fifo, 60).map((s) => uploadTestAction(client, s)));
      const results = await Promise.all(actions.map((a) => client.execute(a.actionDigest)));
      assert.deepEqual(results.map((r) => [r.status?.code ?? 0, r.result?.exitCode]), [[0, 0], [0, 0]]);
      const out = Buffer.from(await client.readBlob({
        hash: results[1]!.result!.stdoutDigest!.hash!, sizeBytes: Number(results[1]!.result!.stdoutDigest!.sizeBytes),
      })).toString();
      assert.equal(out, "ping\n");
    });
  });
});
