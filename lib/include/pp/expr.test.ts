import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { evalFast } from "./expr-fast.ts";
import { evalCondition, evalValue, type ExprOptions } from "./expr.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { Tk } from "./tokens.ts";

const C: ExprOptions = { cxx: false, charUnsigned: false, intmaxBits: 64 };
const CXX: ExprOptions = { ...C, cxx: true };
const toks = (s: string) => tokenizeLine(s, 0, s.length, { rawStrings: false, digitSeparators: true }, false);
const value = (s: string, o = C) => {
  const r = evalValue(toks(s), o);
  return r.u ? `${r.v}u` : String(r.v);
};

describe("evalValue(): integer arithmetic as intmax_t / uintmax_t", () => {
  const CASES: [string, string][] = [
    ["1 + 2 * 3", "7"],
    ["(1 + 2) * 3", "9"],
    ["-1 < 0u", "0"],
    ["-1 > 0u", "1"],
    ["0u - 1", "18446744073709551615u"],
    ["-1 / 2", "0"],
    ["-7 % 3", "-1"],
    ["7 / -2", "-3"],
    ["9223372036854775807 + 1", "-9223372036854775808"],
    ["-9223372036854775807 - 1 < 0", "1"],
    ["18446744073709551615", "18446744073709551615u"],
    ["0xffffffffffffffff == -1", "1"],
    ["0x7fffffffffffffff", "9223372036854775807"],
    ["1 << 63", "-9223372036854775808"],
    ["1u << 63", "9223372036854775808u"],
    ["1 << 64", "0"],
    ["-8 >> 1", "-4"],
    ["-1 >> 70", "-1"],
    ["4 << -1", "2"],
    ["~0", "-1"],
    ["~0u", "18446744073709551615u"],
    ["!5 + !0", "1"],
    ["1 ? 2 : 3u", "2u"],
    ["0 ? 2 : -1", "-1"],
    ["(1, 2)", "2"],
    ["0 && (1 / 0)", "0"],
    ["1 || (1 % 0)", "1"],
    ["0 ? 1 / 0 : 5", "5"],
    ["010 + 0x10 + 0b10 + 10", "36"],
    ["1'000'000", "1000000"],
    ["100000L + 1LL + 1ul + 1LLU", "100003u"],
    ["'a'", "97"],
    ["'\\377'", "-1"],
    ["'\\n' + '\\x41' + '\\0'", "75"],
    ["'ab'", "24930"],
    ["L'\\xffffffff'", "-1"],
    ["u'x'", "120u"],
    ["undefined_identifier + 1", "1"],
    ["3 > 2 > 1", "0"],
    ["1 == 1 != 0 & 3 ^ 1 | 4", "4"],
  ];
  for (const [expr, want] of CASES) test(`evalValue() ${expr} = ${want}`, () => assert.equal(value(expr), want));

  test("evalValue() treats true/false and the alternative tokens as C++ does", () => {
    assert.equal(value("true + (false or not 0) + (3 bitand 1) + compl 0", CXX), "2");
    assert.equal(value("true", C), "0");
  });
  test("evalValue() honours __CHAR_UNSIGNED__", () => {
    assert.equal(value("'\\377'", { ...C, charUnsigned: true }), "255");
  });

  const ERRORS: [string, string][] = [
    ["1 / 0", "division by zero"],
    ["1 % 0", "division by zero"],
    ["1 +", "operand"],
    ["(1", "missing ')'"],
    ["1 2", "missing binary operator"],
    ["1.0", "floating"],
    ["08", "octal"],
    ["1 ? 2", "':'"],
    ['"s"', "not valid"],
    ["1 = 2", "missing binary operator"],
    ["18446744073709551616", "too large"],
    ["12abc", "suffix"],
  ];
  for (const [expr, msg] of ERRORS) {
    test(`evalValue() rejects ${expr}`, () => {
      assert.throws(() => evalValue(toks(expr), C), (e: unknown) => e instanceof ScanFallback && e.kind === "error" && e.message.includes(msg));
    });
  }
  test("evalValue() gives up on GNU assertions", () => {
    assert.throws(() => evalValue(toks("#machine(x86)"), C), (e: unknown) => e instanceof ScanFallback && e.kind === "unsupported");
  });
  test("evalCondition() rejects an empty condition", () => {
    assert.throws(() => evalCondition([], C), /no expression/);
  });
});

describe("evalFast()", () => {
  test("evalFast() agrees with evalValue() wherever it answers (random expressions)", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const atoms = ["0", "1", "2", "7", "-3", "255", "65536", "2147483647", "4294967296", "9007199254740991", "0x7fffffff", "010", "1u", "x", "'a'", "40"];
    const ops = ["+", "-", "*", "/", "%", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", "&", "^", "|", "&&", "||"];
    const gen = (d: number): string => {
      const r = rnd(10);
      if (d > 3 || r < 3) return atoms[rnd(atoms.length)]!;
      if (r < 5) return `${["-", "~", "!", "+"][rnd(4)]}(${gen(d + 1)})`;
      if (r < 6) return `(${gen(d + 1)} ? ${gen(d + 1)} : ${gen(d + 1)})`;
      return `(${gen(d + 1)} ${ops[rnd(ops.length)]} ${gen(d + 1)})`;
    };
    let answered = 0;
    for (let i = 0; i < 5000; i++) {
      const e = gen(0);
      const fast = evalFast(toks(e), false);
      if (fast === undefined) continue;
      answered++;
      const slow = evalValue(toks(e), C);
      assert.equal(BigInt(fast), slow.v, e);
      assert.equal(slow.u, false, e);
    }
    assert.ok(answered > 2000, `the fast path answered only ${answered} of 5000`);
  });
  test("evalFast() declines unsigned values, big shifts and division by zero", () => {
    for (const e of ["1u", "1 << 40", "1 / 0", "'a'", "0x8000000000000000", "-1 >> 1 << 40"]) assert.equal(evalFast(toks(e), false), undefined, e);
  });
});

describe("evalCondition(): __COUNTER__, its base unknown", () => {
  /** The condition with each `C` replaced by the next __COUNTER__ token, as the scanner hands it over. */
  const withCounter = (s: string) => {
    let i = 0;
    return toks(s).map((t) => (t.t === "C" ? { k: t.k === Tk.Ident ? Tk.Number : t.k, t: "__COUNTER__", ws: t.ws, ctr: i++ } : t));
  };
  test("conditions where the base cancels are decided", () => {
    const CASES: [string, boolean][] = [
      ["C + 1 == C + 0", true], // benchmark.h
      ["C == C", false],
      ["C - C == -1", true],
      ["C != C", true],
      ["C < C", true],
      ["C >= C + 1", false],
      ["-C + C == 1", true],
      ["C * 2 - 2 * C == -2", true],
      ["C + 1u == C", true],
      ["(C) + (1) == (C)", true],
      ["0 && C", false],
      ["1 || C == 0", true],
      ["1 ? C < C : C", true],
      ["0 ? C : C - C", true],
    ];
    for (const [s, want] of CASES) assert.equal(evalCondition(withCounter(s), C), want, s);
  });
  test("conditions that depend on the counter's value are unsupported", () => {
    for (const s of ["C == 0", "C", "!C", "C && 1", "1 && C", "C ? 1 : 0", "C % 2 == C % 2", "C * C == C * C", "C - 5u < C", "(C << 1) == (C << 1)", "~C == ~C", "C * 2 == C"]) {
      assert.throws(() => evalCondition(withCounter(s), C), (e: unknown) => e instanceof ScanFallback && e.kind === "unsupported" && /__COUNTER__/.test(e.message), s);
    }
  });
  test("the fast path leaves __COUNTER__ to the BigInt evaluator", () => {
    assert.equal(evalFast(withCounter("C + 1 == C + 0"), false), undefined);
  });
});
