/**
 * The server's per-request limits (lib/server/limits.ts) through the real HTTP handler and `/e` adapter:
 * every client mistake is a 4xx with a one-line message, nothing over a limit is allocated, stored,
 * uploaded or sent. The REAPI side is a recorder: it shows what the server would upload and run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { goma, type IExecReq, type IFileBlob } from "../goma/proto.ts";
import { createGomaHandler, PREFIX } from "./handler.ts";
import { FileStore } from "./file-store.ts";
import { ExecAdapter } from "./exec.ts";
import type { Reapi } from "./reapi.ts";
import { serializeBlob, blobHashKey, FILE_CHUNK_SIZE } from "../goma/file-blob.ts";
import { MAX_LOOKUP_KEYS, MAX_LOOKUP_RESPONSE_BYTES } from "./limits.ts";

const T = goma.FileBlob.BlobType;

/** A REAPI stand-in: nothing cached, everything missing; records upload sizes and executions. */
function recorder() {
  const seen = { uploadedBytes: 0, largestUpload: 0, executions: 0 };
  const reapi: Reapi = {
    async findMissingBlobs(d) { return d; },
    async uploadBlobs(blobs) {
      for (const b of blobs) {
        seen.uploadedBytes += b.data.byteLength;
        seen.largestUpload = Math.max(seen.largestUpload, b.data.byteLength);
      }
    },
    async readBlob() { return new Uint8Array(); },
    async getActionResult() { return undefined; },
    async execute() {
      seen.executions++;
      return { result: { exitCode: 0, outputFiles: [] }, status: { code: 0 } };
    },
  };
  return { reapi, seen };
}

function setup(maxRequestBytes = 64 * 1024 * 1024) {
  const files = new FileStore();
  const { reapi, seen } = recorder();
  const exec = new ExecAdapter({ reapi, files });
  const handler = createGomaHandler({ exec, files, maxRequestBytes });
  const post = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    handler(new Request(`http://x${PREFIX}${path}`, { method: "POST", body: body as unknown as BodyInit, headers }));
  const e = (req: IExecReq) => post("/e", goma.ExecReq.encode(req).finish());
  return { files, seen, post, e };
}

/** A plausible compile request; `patch` changes fields. */
function execReq(patch: Partial<IExecReq> = {}): IExecReq {
  const src = serializeBlob({ blobType: T.FILE, content: Buffer.from("int x;\n"), fileSize: 7 });
  return {
    commandSpec: { name: "gcc", version: "12", target: "x86_64-linux-gnu" },
    cwd: "/home/u/proj",
    arg: ["gcc", "-c", "a.c", "-o", "a.o"],
    env: ["LANG=C"],
    input: [{ filename: "a.c", hashKey: blobHashKey(src), content: goma.FileBlob.decode(src) }],
    expectedOutputFiles: ["a.o"],
    toolchainIncluded: true,
    toolchainSpecs: [{ path: "/usr/bin/gcc", hash: "0".repeat(64), size: 1, isExecutable: true }],
    ...patch,
  };
}

test("/l bounds keys per request (400) and response bytes (413): 1,100 copies of one 2 MiB chunk return no 2.2 GiB", async () => {
  const s = setup();
  const chunk = serializeBlob({ blobType: T.FILE_CHUNK, offset: 0, content: new Uint8Array(FILE_CHUNK_SIZE).fill(7), fileSize: FILE_CHUNK_SIZE });
  const key = blobHashKey(chunk);
  s.files.put(key, chunk);
  const many = await s.post("/l", goma.LookupFileReq.encode({ hashKey: Array(1100).fill(key) }).finish());
  assert.equal(many.status, 400);
  assert.match(await many.text(), new RegExp(`1100 hash keys, at most ${MAX_LOOKUP_KEYS} per request`));
  const copies = Math.ceil(MAX_LOOKUP_RESPONSE_BYTES / chunk.byteLength) + 1;
  const big = await s.post("/l", goma.LookupFileReq.encode({ hashKey: Array(copies).fill(key) }).finish());
  assert.equal(big.status, 413);
  assert.match(await big.text(), /over the limit of 67108864 bytes per response: ask for fewer keys/);
  const ok = await s.post("/l", goma.LookupFileReq.encode({ hashKey: [key, key, key, key, key] }).finish());
  assert.equal(ok.status, 200, "the proxy's 5 chunks per request still work");
  assert.equal(goma.LookupFileResp.decode(new Uint8Array(await ok.arrayBuffer())).blob.length, 5);
});

test("a FILE_META in /e is checked against its chunks' real content: no 256 MiB zero blob, no 500 for a negative or huge file_size", async () => {
  const s = setup();
  const chunk = serializeBlob({ blobType: T.FILE_CHUNK, offset: 0, content: Buffer.from("int x;\n"), fileSize: 7 });
  const key = blobHashKey(chunk);
  s.files.put(key, chunk);
  const second = serializeBlob({ blobType: T.FILE_CHUNK, offset: 7, content: Buffer.from("int y;\n"), fileSize: 7 });
  s.files.put(blobHashKey(second), second);
  const meta = (fileSize: number, keys: string[]): IFileBlob => ({ blobType: T.FILE_META, fileSize, hashKey: keys });
  const cases: [IFileBlob, RegExp][] = [
    [meta(256 * 1024 * 1024, Array(128).fill(key)), /chunk [0-9a-f]{64} is at offset 0, expected 7/],
    [meta(3 * 1024 * 1024, [key, blobHashKey(second)]), /its FILE_META says 3145728 bytes, its chunks hold 14/],
    [meta(7, [key, key]), /needs 1 chunk keys/],
    [meta(-5, [key, key]), /file_size -5 is not a size/],
    [meta(2 ** 52, [key, key]), /over the limit of \d+ bytes per file/],
    [{ blobType: T.FILE, fileSize: -1, content: Buffer.from("") }, /file_size -1 is not a size/],
  ];
  for (const [content, want] of cases) {
    const r = await s.e(execReq({ input: [{ filename: "a.c", hashKey: blobHashKey(content), content }] }));
    assert.equal(r.status, 400, `file_size ${content.fileSize}: ${await r.clone().text()}`);
    assert.match(await r.text(), want);
  }
  assert.equal(s.seen.largestUpload < 1024 * 1024, true, `uploaded a ${s.seen.largestUpload}-byte blob`);
  assert.equal(s.seen.executions, 0);
});

test("/s refuses a FILE_META whose size is negative, huge or disagrees with its chunk count (400)", async () => {
  const s = setup();
  const k = "a".repeat(64);
  for (const fileSize of [-1, 2 ** 40, 256 * 1024 * 1024]) {
    const r = await s.post("/s", goma.StoreFileReq.encode({ blob: [{ blobType: T.FILE_META, fileSize, hashKey: [k, k] }] }).finish());
    assert.equal(r.status, 400, String(fileSize));
    assert.match(await r.text(), /invalid FileBlob: (file_size|FILE_META of)/);
  }
  assert.equal(s.files.stats().blobs, 0, "nothing stored");
});

test("bad requests answer 400, not 500: NUL bytes in cwd, arg and env, a 1 MiB argument, a 100,000-character file name", async () => {
  const s = setup();
  const cases: [Partial<IExecReq>, RegExp][] = [
    [{ cwd: "/home/u/pr\0oj" }, /cwd contains a NUL byte/],
    [{ arg: ["gcc", "-c", "a\0.c"] }, /arg\[2\] contains a NUL byte/],
    [{ env: ["LANG=C\0x"] }, /env\[0\] contains a NUL byte/],
    [{ arg: ["gcc", "-c", "a.c", "-DX=" + "x".repeat(1024 * 1024)] }, /arg\[3\] is 1048580 bytes, over the limit of 131071 per argument \(E2BIG\)/],
    [{ arg: ["gcc", "-c", "a.c", ...Array(16).fill("-DX=" + "x".repeat(100_000))] }, /arg and env are \d+ bytes together, over the limit/],
    [{ expectedOutputFiles: ["o".repeat(100_000) + ".o"] }, /expected_output_files\[0\] is 100002 bytes long, over the limit of 4095/],
    [{ input: [{ filename: "d/" + "n".repeat(300) + ".c", hashKey: "b".repeat(64) }] }, /input\[0\]\.filename has a 302-byte component, over the limit of 255 \(NAME_MAX\)/],
  ];
  for (const [patch, want] of cases) {
    const r = await s.e(execReq(patch));
    assert.equal(r.status, 400, `${want}: ${r.status} ${await r.clone().text()}`);
    const body = await r.text();
    assert.match(body, want);
    assert.equal(body.trim().split("\n").length, 1, "one line");
    assert.ok(body.length < 400, "the message quotes a bounded prefix, not the whole value");
  }
  assert.equal(s.seen.executions, 0);
});

test("a decoded body over the limit answers 413 (not 429), and the server keeps serving", async () => {
  const s = setup(1024 * 1024);
  const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024));
  const r = await s.post("/e", bomb, { "content-encoding": "gzip" });
  assert.equal(r.status, 413);
  assert.match(await r.text(), /exceeds 1048576 bytes/);
  const ok = await s.e(execReq({ input: [{ filename: "a.c", hashKey: "c".repeat(64) }] }));
  assert.equal(ok.status, 200);
  assert.deepEqual(goma.ExecResp.decode(new Uint8Array(await ok.arrayBuffer())).missingInput, ["a.c"]);
});
