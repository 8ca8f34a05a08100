import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBytes, encodeBytes, hasEscapedBytes } from "./bytes.ts";

test("decodeBytes/encodeBytes round-trip any bytes exactly; valid UTF-8 decodes as text, invalid bytes as escapes", () => {
  assert.equal(decodeBytes(Buffer.from("café €𝄞.c")), "café €𝄞.c");
  assert.equal(hasEscapedBytes("café €𝄞.c"), false);
  const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x63]);
  assert.equal(decodeBytes(latin1), "caf\udce9.c");
  assert.equal(hasEscapedBytes(decodeBytes(latin1)), true);
  assert.deepEqual(encodeBytes("caf\udce9.c"), latin1);
  assert.equal(hasEscapedBytes("\ud800\udc80"), false, "the low half of a pair is not an escape");
  // Overlong, encoded surrogate, beyond U+10FFFF, truncated, stray continuation: every byte escaped.
  for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) {
    const s = decodeBytes(Uint8Array.from(bad));
    assert.equal(s.length, bad.length, bad.join(","));
    assert.deepEqual([...encodeBytes(s)], bad);
  }
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < 2000; n++) {
    const b = Uint8Array.from({ length: 1 + (n % 17) }, rnd);
    assert.deepEqual(encodeBytes(decodeBytes(b)), b);
  }
});
