import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EMPTY_DIGEST } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import {
  blobSubject, compressedReadResourceName, compressedWriteResourceName, parseReadResourceName, parseWriteResourceName, readResourceName, validateInstanceName, writeResourceName,
} from "./resource-name.ts";

const h = "ab".repeat(32);
const d = { hash: h, sizeBytes: 42 };
const isCode = (code: Code) => (e: unknown) => e instanceof GomaError && e.code === code;

describe("resource names (reapi-buildbarn.md §1.6)", () => {
  test("readResourceName() has no leading slash for the empty instance name", () => {
    assert.equal(readResourceName("", d), `blobs/${h}/42`);
    assert.equal(readResourceName("hardlinking", d), `hardlinking/blobs/${h}/42`);
    assert.equal(readResourceName("a/b", EMPTY_DIGEST), `a/b/blobs/${EMPTY_DIGEST.hash}/0`);
  });

  test("writeResourceName() has no leading slash for the empty instance name", () => {
    assert.equal(writeResourceName("", "u-1", d), `uploads/u-1/blobs/${h}/42`);
    assert.equal(writeResourceName("hardlinking", "u-1", d), `hardlinking/uploads/u-1/blobs/${h}/42`);
  });

  test("blobSubject() is blobs/{hash}/{size}", () => {
    assert.equal(blobSubject(d), `blobs/${h}/42`);
  });

  test("parseReadResourceName() splits off the instance name before 'blobs'", () => {
    for (const [name, instanceName] of [[`blobs/${h}/42`, ""], [`x/blobs/${h}/42`, "x"], [`x/y/blobs/sha256/${h}/42`, "x/y"]] as const) {
      assert.deepEqual(parseReadResourceName(name), { instanceName, digest: d });
    }
  });

  test("parseWriteResourceName() accepts trailing metadata and returns the upload id", () => {
    assert.deepEqual(parseWriteResourceName(`uploads/u1/blobs/${h}/42`), { instanceName: "", digest: d, uploadId: "u1" });
    assert.deepEqual(parseWriteResourceName(`i/uploads/u1/blobs/${h}/42/meta/data`), { instanceName: "i", digest: d, uploadId: "u1" });
  });

  test("parsers reject malformed names with InvalidArgument", () => {
    for (const bad of ["", "blobs", `blobs/${h}`, `blobs/${h}/-1`, `blobs/xyz/1`, `/blobs/${h}/42`, `a//blobs/${h}/42`,
      `blobs/${h}/42/extra`, `blobs/blake3/${h}/42`]) {
      assert.throws(() => parseReadResourceName(bad), isCode(Code.InvalidArgument), bad);
    }
    assert.throws(() => parseWriteResourceName(`uploads//blobs/${h}/42`), isCode(Code.InvalidArgument));
    assert.throws(() => parseReadResourceName(`compressed-blobs/deflate/${h}/42`), isCode(Code.Unimplemented));
    assert.throws(() => parseReadResourceName(`compressed-blobs/identity/${h}/42`), isCode(Code.InvalidArgument));
    assert.throws(() => parseReadResourceName(`compressed-blobs/${h}/42`), isCode(Code.InvalidArgument));
    assert.throws(() => parseWriteResourceName(`uploads/u/compressed-blobs/lz4/${h}/42`), isCode(Code.InvalidArgument));
  });

  test("compressed-blobs/zstd names: built and parsed, the digest is the uncompressed one", () => {
    assert.equal(compressedReadResourceName("", d), `compressed-blobs/zstd/${h}/42`);
    assert.equal(compressedWriteResourceName("a/b", "u1", d), `a/b/uploads/u1/compressed-blobs/zstd/${h}/42`);
    assert.deepEqual(parseReadResourceName(`hardlinking/compressed-blobs/zstd/${h}/42`), { instanceName: "hardlinking", digest: d, compressor: "zstd" });
    assert.deepEqual(parseReadResourceName(`compressed-blobs/zstd/sha256/${h}/42`), { instanceName: "", digest: d, compressor: "zstd" });
    assert.deepEqual(parseWriteResourceName(`uploads/u1/compressed-blobs/zstd/${h}/42/meta/data`),
      { instanceName: "", digest: d, uploadId: "u1", compressor: "zstd" });
    assert.deepEqual(parseReadResourceName(`blobs/${h}/42`), { instanceName: "", digest: d });
  });

  test("validateInstanceName() follows Buildbarn's rules", () => {
    for (const ok of ["", "hardlinking", "a/b", "."]) validateInstanceName(ok);
    for (const bad of ["/a", "a/", "a//b", "blobs", "x/operations"]) {
      assert.throws(() => validateInstanceName(bad), isCode(Code.InvalidArgument), bad);
    }
  });
});
