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
import { REAPI_SEMANTICS_TEST_OPTIONS, TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";

describe("startEmbeddedBackend()", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "goma-be-")); });
  after(() => rm(dir, { recursive: true, force: true }));

  test("creates cas/, ac/ and exec/, clears stale action directories, reports the real port", async () => {
    const dataDir = join(dir, "tcp");
    await mkdir(join(dataDir, "exec", "stale-action", "root"), { recursive: true });
    await writeFile(join(dataDir, "exec", "stale-action", "root", "f"), "left by a crash");
    const backend = await startEmbeddedBackend({ dataDir, ...REAPI_SEMANTICS_TEST_OPTIONS });
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
    const backend = await startEmbeddedBackend({ dataDir: join(dir, "unix"), address, ...REAPI_SEMANTICS_TEST_OPTIONS });
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
    const backend = await startEmbeddedBackend({ dataDir, concurrency: 1, ...REAPI_SEMANTICS_TEST_OPTIONS });
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

describe("the embedded backend's auth", () => {
  test("every call needs a token authorize() accepts: FindMissingBlobs, Execute and GetCapabilities without one are UNAUTHENTICATED", async () => {
    const dir = await mkdtemp(join(tmpdir(), "goma-be-auth-"));
    const backend = await startEmbeddedBackend({
      dataDir: dir, commandPolicy: "any",
      authorize: (h) => (h === "Bearer right-token" ? undefined : h ? "unknown token" : "missing Authorization header"),
    } as Parameters<typeof startEmbeddedBackend>[0]);
    const good = new ReapiClient({ target: backend.address, instanceName: "", bearerToken: () => "right-token" });
    const none = new ReapiClient({ target: backend.address, instanceName: "" });
    const wrong = new ReapiClient({ target: backend.address, instanceName: "", bearerToken: () => "wrong-token" });
    try {
      const a = await uploadTestAction(good, { argv: ["/bin/echo", "authorized"] });
      const unauth = (why: RegExp) => (e: unknown) => e instanceof GomaError && e.code === Code.Unauthenticated && why.test(e.rawMessage);
      await assert.rejects(none.findMissingBlobs([a.actionDigest]), unauth(/auth failed: missing Authorization header/));
      await assert.rejects(none.execute(a.actionDigest), unauth(/missing Authorization header/));
      await assert.rejects(wrong.execute(a.actionDigest), unauth(/auth failed: unknown token/));
      await assert.rejects(none.getCapabilities(), unauth(/missing Authorization header/));
      assert.deepEqual(await good.findMissingBlobs([a.actionDigest]), []);
      const res = await good.execute(a.actionDigest);
      assert.equal(res.status?.code ?? 0, Code.OK);
      assert.equal(res.result?.exitCode, 0);
    } finally {
      for (const c of [good, none, wrong]) c.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("refuses to start without an authorize check unless told it is a test", async () => {
    const dir = await mkdtemp(join(tmpdir(), "goma-be-noauth-"));
    try {
      await assert.rejects(startEmbeddedBackend({ dataDir: dir }), (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition &&
        /needs an authorize check/.test(e.rawMessage));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
