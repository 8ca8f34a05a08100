import assert from "node:assert/strict";
import { test } from "node:test";
import { goma } from "../goma/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import type { ExecAdapter } from "./exec.ts";
import { FileStore } from "./file-store.ts";
import { createGomaHandler } from "./handler.ts";
import { InProcessGomaClient } from "./in-process-client.ts";

/** An ExecAdapter stand-in answering the compiler name as stdout. */
const echo = {
  stats: { requests: 0, missingInputReplies: 0, cacheHits: 0, executed: 0, errors: 0 },
  async exec(req: goma.IExecReq) {
    return { result: { exitStatus: 0, stdoutBuffer: Buffer.from(req.commandSpec?.name ?? "") } };
  },
} as unknown as ExecAdapter;

test("InProcessGomaClient sends /ping, /e, /s and /l to the handler with no socket", async () => {
  const files = new FileStore();
  const client = new InProcessGomaClient(createGomaHandler({ exec: echo, files }));
  await client.ping();
  const resp = await client.exec({ commandSpec: { name: "gcc" } });
  assert.equal(Buffer.from(resp.result!.stdoutBuffer!).toString(), "gcc");
  const [key] = await client.storeFile([{ blobType: goma.FileBlob.BlobType.FILE, content: Buffer.from("int x;\n"), fileSize: 7 }]);
  const [blob] = await client.lookupFile([key!]);
  assert.equal(Buffer.from(blob!.content!).toString(), "int x;\n");
  assert.equal(client.stats.requests, 4);
});

test("InProcessGomaClient turns a non-200 answer into the status's GomaError, as the HTTP client does", async () => {
  const client = new InProcessGomaClient(createGomaHandler({ exec: echo, files: new FileStore(), maxRequestBytes: 16 }));
  await assert.rejects(client.exec({ commandSpec: { name: "a-compiler-name-longer-than-sixteen-bytes" } }), (e: unknown) =>
    e instanceof GomaError && e.code === Code.ResourceExhausted && /^goma server answered HTTP 413 on \/e: /.test(e.rawMessage));
  assert.equal(client.stats.errors, 1);
});
