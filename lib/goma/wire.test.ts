import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateSync, gzipSync } from "node:zlib";
import { goma } from "./proto.ts";
import { blobHashKey, blobsForContent, FILE_CHUNK_SIZE, serializeBlob, validateBlob } from "./file-blob.ts";
import { decodeBody, encodeBody, pickEncoding } from "./compression.ts";
import { encodeRawFields, rawFields } from "./wire.ts";
import { httpStatusFromCode, codeFromHttpStatus } from "./http-status.ts";
import { Code } from "../util/status.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("serializeBlob() encodes a FILE blob as goma-protocol.md §2.3 shows", () => {
  assert.equal(hex(serializeBlob({ blobType: 1, content: Buffer.from("hi"), fileSize: 2 })), "08015a026869a00102");
});

test("serializeBlob() keeps offset=0 of a FILE_CHUNK (proto2 explicit presence)", () => {
  assert.equal(hex(serializeBlob({ blobType: 3, offset: 0, content: new Uint8Array([7]), fileSize: 1 })), "080350005a0107a00101");
});

test("ExecReq inputs are proto2 groups (0x53 … 0x54)", () => {
  const b = goma.ExecReq.encode({ commandSpec: { name: "gcc" }, input: [{ filename: "a.c", hashKey: "" }] }).finish();
  assert.equal(hex(b), "0a050a03676363535a03612e63620054");
});

test("ExecResult.decode() rejects a result without the required exit_status", () => {
  assert.throws(() => goma.ExecResult.decode(new Uint8Array([0x12, 0])), /exitStatus/);
});

test("blobsForContent() chunks files over 2 MiB into FILE_CHUNKs and a FILE_META", () => {
  const data = new Uint8Array(FILE_CHUNK_SIZE * 2 + 5).map((_, i) => i & 0xff);
  const { top, chunks } = blobsForContent(data);
  assert.equal(chunks.length, 3);
  assert.equal(top.blob.blobType, goma.FileBlob.BlobType.FILE_META);
  assert.deepEqual(top.blob.hashKey, chunks.map((c) => c.hashKey));
  assert.equal(chunks[2]!.blob.offset, FILE_CHUNK_SIZE * 2);
  assert.equal(validateBlob(top.blob), "");
  assert.equal(validateBlob(chunks[0]!.blob), "");
  assert.equal(top.hashKey, blobHashKey(top.bytes));
});

test("validateBlob() names what is wrong", () => {
  assert.match(validateBlob({ blobType: 1, content: new Uint8Array(3), fileSize: 4 }), /3 bytes, file_size says 4/);
  assert.match(validateBlob({ blobType: 0, fileSize: 0 }), /not storable/);
  assert.match(validateBlob({ blobType: 2, fileSize: 9, hashKey: ["a"] }), /at least 2/);
});

test("decodeBody() reads gzip, raw deflate with the real client's Adler-32 trailer, and identity", () => {
  const body = Buffer.from("hello goma ".repeat(100));
  assert.deepEqual(Buffer.from(decodeBody(gzipSync(body), "gzip", 1 << 20)), body);
  const zlibStream = deflateSync(body);
  const rawWithTrailer = zlibStream.subarray(2); // strip the 2-byte zlib header, keep the trailer
  assert.deepEqual(Buffer.from(decodeBody(rawWithTrailer, "deflate", 1 << 20)), body);
  assert.deepEqual(Buffer.from(decodeBody(encodeBody(body, "deflate"), "deflate", 1 << 20)), body);
  assert.deepEqual(Buffer.from(decodeBody(body, null, 1 << 20)), body);
});

test("decodeBody() rejects unknown encodings, corrupt data and bombs", () => {
  assert.throws(() => decodeBody(new Uint8Array(3), "br", 100), /Unsupported Content-Encoding/);
  assert.throws(() => decodeBody(new Uint8Array([1, 2, 3]), "gzip", 100), /Failed to decode gzip/);
  assert.throws(() => decodeBody(gzipSync(Buffer.alloc(10_000)), "gzip", 100), /exceeds 100 bytes/);
});

test("pickEncoding() prefers gzip, then deflate", () => {
  assert.equal(pickEncoding("deflate, gzip"), "gzip");
  assert.equal(pickEncoding("deflate"), "deflate");
  assert.equal(pickEncoding(null), "identity");
});

test("rawFields() returns exact payloads and encodeRawFields() inverts it", () => {
  const blobs = [serializeBlob({ blobType: 1, content: Buffer.from("x"), fileSize: 1 }), serializeBlob({ blobType: 0 })];
  const msg = encodeRawFields(2, blobs);
  assert.deepEqual(goma.LookupFileResp.decode(msg).blob!.length, 2);
  assert.deepEqual(rawFields(msg, 2).map(hex), blobs.map(hex));
  assert.throws(() => rawFields(new Uint8Array([0x0a, 0x05, 1]), 1), /Truncated/);
});

test("httpStatusFromCode() maps as remoteexec_proxy (Unauthenticated → 500)", () => {
  assert.equal(httpStatusFromCode(Code.Unauthenticated), 500);
  assert.equal(httpStatusFromCode(Code.FailedPrecondition), 400);
  assert.equal(httpStatusFromCode(Code.Unavailable), 503);
  assert.equal(codeFromHttpStatus(502), Code.Unavailable);
});
