import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, FrameReader } from "./protocol.ts";

test("FrameReader reassembles a frame split at every byte", () => {
  const frame = encodeFrame({ kind: "done", exitCode: 0, stdoutLength: 3, stderrLength: 2 }, Buffer.from("out"), Buffer.from("er"));
  const r = new FrameReader<{ stdoutLength: number; stderrLength: number }>((h) => h.stdoutLength + h.stderrLength);
  let got;
  for (let i = 0; i < frame.byteLength; i++) {
    got = r.push(frame.subarray(i, i + 1));
    if (i < frame.byteLength - 1) assert.equal(got, undefined);
  }
  assert.equal(Buffer.from(got!.payload).toString(), "outer");
});

test("FrameReader refuses absurd header lengths", () => {
  const r = new FrameReader(() => 0);
  assert.throws(() => r.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), /too large/);
});
