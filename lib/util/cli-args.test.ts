/** The CLI's error report: user mistakes, goma's own bugs and other failures, and the nearest flag. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closest, nearest, reportError, UsageError } from "./cli-args.ts";

function report(e: unknown, env: Record<string, string> = {}): { code: number; text: string } {
  let text = "";
  const code = reportError("goma server", e, (t) => (text += t), env);
  return { code, text };
}

test("a UsageError is one line and exit 2, without a stack even with GOMA_DEBUG", () => {
  const r = report(new UsageError("--port wants a whole number from 0 to 65535, got \"abc\""), { GOMA_DEBUG: "1" });
  assert.deepEqual(r, { code: 2, text: 'goma server: --port wants a whole number from 0 to 65535, got "abc"\n' });
});

test("a TypeError is goma's bug: one line 'goma: internal error', exit 70, the stack only with GOMA_DEBUG", () => {
  const bug = (() => { try { (undefined as unknown as { x: number }).x; } catch (e) { return e; } })();
  const plain = report(bug);
  assert.equal(plain.code, 70);
  assert.match(plain.text, /^goma: internal error: goma server: .*undefined.*\n$/);
  assert.equal(plain.text.split("\n").length, 2, plain.text);
  const debug = report(new RangeError("Invalid array length"), { GOMA_DEBUG: "1" });
  assert.equal(debug.code, 70);
  assert.match(debug.text, /^goma: internal error: goma server: Invalid array length\nRangeError: Invalid array length\n\s+at /);
});

test("any other failure is one line and exit 1, with the stack under GOMA_DEBUG", () => {
  assert.deepEqual(report(new Error("cannot listen on :5050: EADDRINUSE")), { code: 1, text: "goma server: cannot listen on :5050: EADDRINUSE\n" });
  assert.match(report(new Error("x"), { GOMA_DEBUG: "1" }).text, /^goma server: x\nError: x\n\s+at /);
});

test("nearest() names only a likely typo; closest() always names one", () => {
  assert.equal(nearest("--prot", ["--listen", "--port"]), "--port");
  assert.equal(nearest("--bogus", ["--listen", "--port"]), undefined);
  assert.deepEqual(closest("--bogus", ["--listen", "--port"]), { name: "--port", distance: 4 });
  assert.equal(closest("--x", []), undefined);
});
