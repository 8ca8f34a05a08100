/**
 * The canonical-encoding golden vectors of reference/reapi-buildbarn.md §1.5: if these digests change,
 * every cache key goma computes is wrong.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { digestOf, EMPTY_DIGEST } from "../digest/digest.ts";
import { build } from "./proto.ts";
import R = build.bazel.remote.execution.v2;

const hex = (u8: Uint8Array) => Buffer.from(u8).toString("hex");

describe("REAPI golden vectors (reapi-buildbarn.md §1.5)", () => {
  const command = R.Command.encode({
    arguments: ["/bin/sh", "-c", "echo hi > out.txt"],
    environmentVariables: [{ name: "PATH", value: "/usr/bin:/bin" }],
    outputPaths: ["out.txt"],
  }).finish();

  test("R.Command.encode() gives the canonical bytes and digest", () => {
    assert.equal(hex(command),
      "0a072f62696e2f73680a022d630a116563686f206869203e206f75742e74787412150a0450415448120d2f7573722f62696e3a2f62696e3a076f75742e747874");
    assert.deepEqual(digestOf(command),
      { hash: "6410ae94d791c29583399371861fc67ab8db443e1244177b45f9786862c693a4", sizeBytes: 64 });
  });

  test("R.Action.encode() gives the canonical digest", () => {
    const action = R.Action.encode({
      commandDigest: digestOf(command),
      inputRootDigest: EMPTY_DIGEST,
      platform: { properties: [{ name: "OSFamily", value: "linux" }] },
    }).finish();
    assert.deepEqual(digestOf(action),
      { hash: "059a203a4b4f066f26c0687473f032e3e69000dde1589681a15c97a078b8568f", sizeBytes: 159 });
  });

  test("the empty Directory is the empty blob", () => {
    assert.deepEqual(digestOf(R.Directory.encode({}).finish()), EMPTY_DIGEST);
  });

  test("file content and Directory digests match", () => {
    const hello = digestOf(new TextEncoder().encode("hello\n"));
    assert.deepEqual(hello, { hash: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", sizeBytes: 6 });
    const dir = R.Directory.encode({
      files: [{ name: "hello.txt", digest: hello }],
      directories: [{ name: "sub", digest: EMPTY_DIGEST }],
    }).finish();
    assert.deepEqual(digestOf(dir),
      { hash: "d0df3781e5b0c17bb52a7f7ab0c4f53c9e0b035abc1b6bc555e4aabab0a64a69", sizeBytes: 158 });
  });

  test("Command fields are emitted in tag order (platform=5 before output_paths=7)", () => {
    const c = R.Command.encode({ arguments: ["a"], outputPaths: ["o"], platform: { properties: [{ name: "OSFamily", value: "linux" }] } }).finish();
    assert.equal(hex(c), "0a01612a130a110a084f5346616d696c7912056c696e75783a016f");
  });
});
