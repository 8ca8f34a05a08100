import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { goma } from "../goma/proto.ts";
import { createGomaHandler, PREFIX } from "./handler.ts";
import { FileStore } from "./file-store.ts";
import type { ExecAdapter } from "./exec.ts";
import { serializeBlob, blobHashKey } from "../goma/file-blob.ts";
import { decodeBody } from "../goma/compression.ts";

/** An ExecAdapter stand-in that echoes the compiler name as stdout. */
const fakeExec = {
  stats: { requests: 0, missingInputReplies: 0, cacheHits: 0, executed: 0, errors: 0 },
  async exec(req: goma.IExecReq) {
    return { result: { exitStatus: 0, stdoutBuffer: Buffer.from(req.commandSpec?.name ?? "") } };
  },
} as unknown as ExecAdapter;

const files = new FileStore();
const handler = createGomaHandler({ exec: fakeExec, files, maxRequestBytes: 1024 });
const post = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  handler(new Request(`http://x${PREFIX}${path}`, { method: "POST", body: body as unknown as BodyInit, headers }));

test("/ping answers 200 and advertises gzip and deflate", async () => {
  const r = await handler(new Request(`http://x${PREFIX}/ping`, { method: "POST" }));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("accept-encoding"), "gzip, deflate");
});

test("/e decodes a gzip ExecReq and gzips the ExecResp when asked", async () => {
  const req = goma.ExecReq.encode({ commandSpec: { name: "gcc" } }).finish();
  const r = await post("/e", gzipSync(req), { "content-encoding": "gzip", "accept-encoding": "gzip" });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-encoding"), "gzip");
  const resp = goma.ExecResp.decode(decodeBody(new Uint8Array(await r.arrayBuffer()), "gzip", 1 << 20));
  assert.equal(Buffer.from(resp.result!.stdoutBuffer!).toString(), "gcc");
});

test("/e answers 400 with a message for a malformed body and keeps serving", async () => {
  const bad = await post("/e", new Uint8Array([0x0a, 0x7f, 0x01]));
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /cannot parse ExecReq/);
  const ok = await post("/e", goma.ExecReq.encode({ commandSpec: { name: "clang" } }).finish());
  assert.equal(ok.status, 200);
});

test("/e answers 413 for a body over the limit", async () => {
  const r = await post("/e", new Uint8Array(2048));
  assert.equal(r.status, 413);
  assert.match(await r.text(), /exceeds the limit of 1024 bytes/);
});

test("/s stores the exact blob bytes under their SHA-256 and /l returns them; unknown keys give FILE_UNSPECIFIED", async () => {
  const blob = { blobType: 1, content: Buffer.from("int x;\n"), fileSize: 7 };
  const s = await post("/s", goma.StoreFileReq.encode({ blob: [blob] }).finish());
  const keys = goma.StoreFileResp.decode(new Uint8Array(await s.arrayBuffer())).hashKey;
  assert.deepEqual(keys, [blobHashKey(serializeBlob(blob))]);
  const l = await post("/l", goma.LookupFileReq.encode({ hashKey: [keys[0]!, "nope"] }).finish());
  const got = goma.LookupFileResp.decode(new Uint8Array(await l.arrayBuffer())).blob;
  assert.equal(Buffer.from(got[0]!.content!).toString(), "int x;\n");
  assert.equal(got[1]!.blobType, goma.FileBlob.BlobType.FILE_UNSPECIFIED);
});

test("/s refuses an invalid single blob with 400", async () => {
  const r = await post("/s", goma.StoreFileReq.encode({ blob: [{ blobType: 1, content: Buffer.from("ab"), fileSize: 5 }] }).finish());
  assert.equal(r.status, 400);
  assert.match(await r.text(), /invalid FileBlob/);
});

test("unknown paths get 404 and GET on /e gets 405", async () => {
  assert.equal((await handler(new Request(`http://x${PREFIX}/q`, { method: "POST" }))).status, 404);
  assert.equal((await handler(new Request(`http://x${PREFIX}/e`))).status, 405);
});
