import { test } from "node:test";
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, FrameReader } from "../ipc/protocol.ts";
import { claimSocket, listenIpc, removeSocket, requestProblem, socketAlive, type IpcRequest } from "./ipc-server.ts";

/** Sends raw bytes (then half-closes when `end`), and resolves with the first answer frame's header. */
function ask(path: string, bytes: Uint8Array, end = false): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader<unknown>(() => 0);
    const s = createConnection(path);
    s.once("connect", () => (end ? s.end(bytes) : s.write(bytes)));
    s.on("data", (c: Buffer) => {
      const f = reader.push(new Uint8Array(c));
      if (f) {
        s.destroy();
        resolve(f.header);
      }
    });
    s.once("error", reject);
  });
}

async function withServer(f: (path: string, seen: IpcRequest[]) => Promise<void>, handle?: (r: IpcRequest) => unknown): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "goma-ipc-"));
  const path = join(dir, "goma.ipc");
  const seen: IpcRequest[] = [];
  const server = await listenIpc(path, async (req) => {
    seen.push(req);
    const answer = await handle?.(req);
    return encodeFrame(answer ?? { ok: true });
  });
  try {
    await f(path, seen);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

test("listenIpc() makes the socket 0600 and hands a well-formed request to the handler", async () => {
  await withServer(async (path, seen) => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await ask(path, encodeFrame({ v: 1, control: "ping" })), { ok: true });
    assert.deepEqual(seen, [{ v: 1, control: "ping" }]);
  });
});

test("listenIpc() answers a malformed request with one error line and never calls the handler", async () => {
  await withServer(async (path, seen) => {
    assert.deepEqual(await ask(path, encodeFrame({ v: 1, argv: [], cwd: "/", env: {} })),
      { kind: "error", reason: "malformed request: argv is not a non-empty array of strings" });
    const notJson = new Uint8Array([3, 0, 0, 0, 0x7b, 0x7b, 0x7b]);
    assert.match(String((await ask(path, notJson) as { reason: string }).reason), /^malformed request: IPC header is not JSON/);
    assert.deepEqual(await ask(path, new Uint8Array([9, 0, 0, 0, 0x7b]), true),
      { kind: "error", reason: "malformed request: the connection ended after 5 bytes, before a complete request" });
    assert.deepEqual(seen, []);
  });
});

test("listenIpc() answers `local` with the reason when the handler fails", async () => {
  await withServer(async (path) => {
    assert.deepEqual(await ask(path, encodeFrame({ v: 1, control: "stats" })), { kind: "local", reason: "goma proxy internal error: boom" });
  }, () => {
    throw new Error("boom");
  });
});

test("listenIpc() refuses a connection that sends no complete request within idleMs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-ipc-"));
  const path = join(dir, "goma.ipc");
  const server = await listenIpc(path, async () => undefined, 50);
  try {
    assert.deepEqual(await ask(path, new Uint8Array([1])), { kind: "error", reason: "malformed request: no complete request within 0.05 s (1 bytes received)" });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("claimSocket() makes GOMA_TMP_DIR 0700, removes a stale socket file, and refuses when another proxy answers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-ipc-"));
  const tmp = join(dir, "tmp");
  const path = join(tmp, "goma.ipc");
  try {
    await claimSocket(path, tmp);
    assert.equal(statSync(tmp).mode & 0o777, 0o700);
    writeFileSync(path, "stale");
    await claimSocket(path, tmp);
    assert.equal(existsSync(path), false);
    const server = await listenIpc(path, async () => undefined);
    try {
      assert.equal(await socketAlive(path), true);
      await assert.rejects(claimSocket(path, tmp), { code: 9, rawMessage: `another goma proxy is running on ${path}` });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    removeSocket(path);
    assert.equal(existsSync(path), false);
    assert.equal(await socketAlive(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("requestProblem() accepts control requests, reports and compiles, and names what else is wrong", () => {
  assert.equal(requestProblem({ v: 1, control: "quit" }), "");
  assert.equal(requestProblem({ report: { outcome: "direct" } }), "");
  assert.equal(requestProblem({ v: 1, argv: ["gcc"], cwd: "/", env: { A: "b" } }), "");
  assert.equal(requestProblem({ v: 2 }), "");
  assert.equal(requestProblem(null), "the header is null, not an object");
  assert.equal(requestProblem([1]), "the header is an array, not an object");
  assert.equal(requestProblem({ control: 1 }), "control is not a string");
  assert.equal(requestProblem({ report: [] }), "report is not an object");
  assert.equal(requestProblem({ v: 1, argv: ["gcc"], cwd: 1, env: {} }), "cwd is not a string");
  assert.equal(requestProblem({ v: 1, argv: ["gcc"], cwd: "/", env: { A: 1 } }), "env is not an object of strings");
});
