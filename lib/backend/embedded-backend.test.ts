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

  test("with inMemoryStores, runs and caches actions with nothing written under cas/ or ac/", async () => {
    const dataDir = join(dir, "memory");
    const backend = await startEmbeddedBackend({ dataDir, inMemoryStores: true, maxCacheBytes: 1 << 20, ...REAPI_SEMANTICS_TEST_OPTIONS });
    const client = new ReapiClient({ target: backend.address, instanceName: "" });
    try {
      const a = await uploadTestAction(client, {
        argv: ["/bin/sh", "-c", "cat in.txt in.txt > out.txt"], env: TEST_PATH_ENV, outputPaths: ["out.txt"],
        inputs: { "in.txt": { data: "x".repeat(100_000) } },
      });
      const res = await client.execute(a.actionDigest);
      assert.equal(res.result?.exitCode, 0);
      const out = res.result!.outputFiles!.find((f) => f.path === "out.txt")!;
      assert.equal(Buffer.from(await client.readBlob({ hash: out.digest!.hash!, sizeBytes: Number(out.digest!.sizeBytes) })).toString(), "x".repeat(200_000));
      assert.equal((await client.execute(a.actionDigest)).cachedResult, true);
      assert.deepEqual((await readdir(dataDir)).sort(), ["exec"]);
      assert.equal(backend.storeStats().size?.maxBytes, 1 << 20);
      assert.ok(backend.storeStats().size!.entries > 0);
    } finally {
      client.close();
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

describe("action directories", () => {
  test("are removed after every kind of failure: exit 1, timeout, an output of the wrong type, an unreadable tree, a refused command", async () => {
    const dir = await mkdtemp(join(tmpdir(), "goma-be-clean-"));
    const backend = await startEmbeddedBackend({ dataDir: dir, authorize: () => undefined, sandbox: "off" });
    const client = new ReapiClient({ target: backend.address, instanceName: "" });
    const any = await startEmbeddedBackend({ dataDir: join(dir, "any"), ...REAPI_SEMANTICS_TEST_OPTIONS });
    const anyClient = new ReapiClient({ target: any.address, instanceName: "" });
    try {
      const failing = [
        { argv: ["/bin/sh", "-c", "exit 1"] },
        { argv: ["/bin/sh", "-c", "exec sleep 30"], timeoutSeconds: 1 },
        { argv: ["/bin/sh", "-c", "mkdir -p o/x.o"], outputPaths: ["o/x.o"] },
        { argv: ["/bin/sh", "-c", "mkdir -p d/e && touch d/e/f && chmod 0 d/e d"] },
      ];
      for (const spec of failing) {
        const a = await uploadTestAction(anyClient, { ...spec, env: TEST_PATH_ENV, salt: String(Math.random()) });
        await anyClient.execute(a.actionDigest);
        assert.deepEqual(await readdir(join(dir, "any", "exec")), [], JSON.stringify(spec.argv));
      }
      const refused = await uploadTestAction(client, { argv: ["/bin/sh", "-c", "true"], env: TEST_PATH_ENV, inputs: { "in.txt": { data: "x" } } });
      assert.equal((await client.execute(refused.actionDigest)).status?.code, Code.FailedPrecondition);
      assert.deepEqual((await readdir(join(dir, "exec"))).filter((e) => e !== "any"), []);
    } finally {
      client.close();
      anyClient.close();
      await backend.close();
      await any.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
