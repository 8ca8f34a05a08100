/**
 * Lifecycle of the embedded backend: data directory layout, addresses (TCP and unix socket), stale
 * action directories cleared at start, and close() killing running actions without starting queued ones.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ReapiClient } from "../reapi/client.ts";
import { Code, GomaError } from "../util/status.ts";
import { startEmbeddedBackend } from "./embedded-backend.ts";
import { TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";

describe("startEmbeddedBackend()", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-be-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  test("creates cas/, ac/ and exec/, clears stale action directories, reports the real port", async () => {
    const dataDir = join(dir, "tcp");
    await mkdir(join(dataDir, "exec", "stale-action", "root"), { recursive: true });
    await writeFile(join(dataDir, "exec", "stale-action", "root", "f"), "left by a crash");
    const backend = await startEmbeddedBackend({ dataDir });
    try {
      assert.match(backend.address, /^127\.0\.0\.1:[1-9]\d*$/);
      for (const sub of ["cas", "ac", "exec"]) assert.ok((await stat(join(dataDir, sub))).isDirectory());
      assert.deepEqual(await readdir(join(dataDir, "exec")), []);
    } finally {
      await backend.close();
    }
  });

  test("serves on a unix socket", async () => {
    const address = `unix:${join(dir, "be.sock")}`;
    const backend = await startEmbeddedBackend({ dataDir: join(dir, "unix"), address });
    const client = new ReapiClient({ target: backend.address, instanceName: "" });
    try {
      assert.equal(backend.address, address);
      const a = await uploadTestAction(client, { argv: ["/bin/echo", "over unix"] });
      assert.equal((await client.execute(a.actionDigest)).result?.exitCode, 0);
    } finally {
      client.close();
      await backend.close();
    }
  });

  test("close() kills the running action, never starts the queued one, and removes action directories", async () => {
    const dataDir = join(dir, "close");
    const marks = join(dir, "marks");
    await mkdir(marks);
    const backend = await startEmbeddedBackend({ dataDir, concurrency: 1 });
    const client = new ReapiClient({ target: backend.address, instanceName: "" });
    try {
      // The long action reports its pid through a FIFO: reading it returns once the process runs.
      const fifo = join(marks, "pid.fifo");
      execFileSync("mkfifo", [fifo]);
      const long = await uploadTestAction(client, {
        argv: ["/bin/sh", "-c", `echo $$ > ${fifo}; exec sleep 300`], env: TEST_PATH_ENV,
      });
      const queued = await uploadTestAction(client, { argv: ["/bin/sh", "-c", `touch ${marks}/queued`], env: TEST_PATH_ENV });
      const first = client.execute(long.actionDigest);
      const pid = Number(await readFile(fifo, "utf8"));
      const second = client.execute(queued.actionDigest);
      first.catch(() => {});
      second.catch(() => {});
      await backend.close();
      const isUnavailable = (e: unknown) => e instanceof GomaError && e.code === Code.Unavailable;
      await assert.rejects(first, isUnavailable);
      await assert.rejects(second, isUnavailable);
      assert.deepEqual(await readdir(join(dataDir, "exec")), []);
      assert.deepEqual(await readdir(marks), ["pid.fifo"], "the queued action never ran");
      const state = await readFile(`/proc/${pid}/stat`, "utf8").then((s) => s.split(") ")[1]![0], () => "gone");
      assert.ok(state === "gone" || state === "Z", `action process ${pid} survived close() (state ${state})`);
    } finally {
      client.close();
      await backend.close();
    }
  });
});
