/** The CLI's error report: user mistakes, goma's own bugs and other failures, and the nearest flag. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closest, colourWanted, nearest, reportError, stripAnsi, UsageError } from "./cli-args.ts";

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

test("colour (and goma bench's bar) only on a terminal without NO_COLOR; an error message loses citty's colour otherwise", () => {
  assert.equal(colourWanted(true, {}), true);
  assert.equal(colourWanted(true, { NO_COLOR: "" }), true, "an empty NO_COLOR does not count (no-color.org)");
  assert.equal(colourWanted(true, { NO_COLOR: "1" }), false);
  assert.equal(colourWanted(false, {}), false);
  assert.equal(colourWanted(undefined, {}), false);
  const citty = Object.assign(new Error("Invalid value for argument: \x1b[36m--mode\x1b[39m (\x1b[36mx\x1b[39m)."), { code: "EARG" });
  let plain = "";
  assert.equal(reportError("goma x", citty, (t) => (plain += t), {}), 2);
  assert.equal(plain, "goma x: Invalid value for argument: --mode (x).\n");
  let coloured = "";
  reportError("goma x", citty, (t) => (coloured += t), {}, true);
  assert.match(coloured, /\x1b\[36m--mode/);
  assert.equal(stripAnsi("\x1b[?25l\x1b[2Kbar\x1b[0m"), "bar");
});
