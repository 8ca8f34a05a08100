import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Expander, includeOperand, type ExpandHooks } from "./expand.ts";
import type { LexMode } from "./lexer.ts";
import { builtinMacro, parseDefines } from "./macros.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { spell, Tk, type Token } from "./tokens.ts";

const MODE: LexMode = { rawStrings: true, digitSeparators: true };
const toks = (s: string): Token[] => tokenizeLine(s, 0, s.length, MODE, false);

/** An expander over `defines` (a text of #define lines) with recording fake hooks. */
function expander(defines: string, calls: string[] = []) {
  const macros = parseDefines(defines, MODE, "test");
  for (const n of ["__has_include", "__has_include_next"]) macros.set(n, builtinMacro(n, "has_include"));
  for (const n of ["__has_attribute", "__has_builtin"]) macros.set(n, builtinMacro(n, "query"));
  macros.set("__LINE__", builtinMacro("__LINE__", "__LINE__"));
  macros.set("__is_target_arch", builtinMacro("__is_target_arch", "unknown"));
  const hooks: ExpandHooks = {
    dynamic: () => ({ k: Tk.Number, t: "42", ws: false }),
    hasInclude: (next, angle, name) => {
      calls.push(`${next ? "next" : "has"}:${angle ? `<${name}>` : `"${name}"`}`);
      return name === "yes.h";
    },
    query: (op, arg) => {
      calls.push(`${op}(${arg})`);
      return arg === "noreturn" ? 1 : 0;
    },
  };
  return new Expander(macros, hooks);
}
const nospace = (s: string) => s.replace(/\s+/g, "");
const run = (defines: string, text: string, inIf = false) => spell(expander(defines).expand(toks(text), inIf));

describe("Expander.expand(): the C standard's examples (C17 §6.10.3.5)", () => {
  const EX3 = `#define x 3
#define f(a) f(x * (a))
#undef x
#define x 2
#define g f
#define z z[0]
#define h g(~
#define m(a) a(w)
#define w 0,1
#define t(a) a
#define p() int
#define q(x) x
#define r(x,y) x ## y
#define str(x) # x
`.replace("#undef x\n#define x 2\n", "");
  // parseDefines keeps the last definition: redefine x as 2 directly.
  const ex3 = EX3.replace("#define x 3", "#define x 2");
  test("expand() example 3, line 1: nested and recursive invocations", () => {
    assert.equal(nospace(run(ex3, "f(y+1) + f(f(z)) % t(t(g)(0) + t)(1);")),
      nospace("f(2 * (y+1)) + f(2 * (f(2 * (z[0])))) % f(2 * (0)) + t(1);"));
  });
  test("expand() example 3, line 2: an invocation completed by later tokens", () => {
    assert.equal(nospace(run(ex3, "g(x+(3,4)-w) | h 5) & m (f)^m(m);")),
      nospace("f(2 * (2+(3,4)-0,1)) | f(2 * (~ 5)) & f(2 * (0,1))^m(0,1);"));
  });
  test("expand() example 3, line 3: empty arguments and pasting", () => {
    assert.equal(nospace(run(ex3, "p() i[q()] = { q(1), r(2,3), r(4,), r(,5), r(,) };")), nospace("int i[] = { 1, 23, 4, 5, };"));
  });
  test("expand() example 3, line 4: stringizing", () => {
    assert.equal(run(ex3, "char c[2][6] = { str(hello), str() };"), 'char c[2][6] = { "hello", "" };');
  });
  const ex4 = `#define str(s) # s
#define xstr(s) str(s)
#define debug(s, t) printf("x" # s "= %d, x" # t "= %s", x ## s, x ## t)
#define INCFILE(n) vers ## n
#define glue(a, b) a ## b
#define xglue(a, b) glue(a, b)
#define HIGHLOW "hello"
#define LOW LOW ", world"
`;
  test("expand() example 4: # and ## together", () => {
    assert.equal(run(ex4, "debug(1, 2);"), 'printf("x" "1" "= %d, x" "2" "= %s", x1, x2);');
    assert.equal(run(ex4, `fputs(str(strncmp("abc\\0d", "abc", '\\4') == 0) str(: @\\n), s);`),
      `fputs("strncmp(\\"abc\\\\0d\\", \\"abc\\", '\\\\4') == 0" ": @\\n", s);`);
    assert.equal(run(ex4, "xstr(INCFILE(2).h)"), '"vers2.h"');
    assert.equal(run(ex4, "glue(HIGH, LOW);"), '"hello";');
    assert.equal(run(ex4, "xglue(HIGH, LOW)"), '"hello" ", world"');
  });
  test("expand() example 5: placemarkers", () => {
    assert.equal(nospace(run("#define t(x,y,z) x ## y ## z\n", "{ t(1,2,3), t(,4,5), t(6,,7), t(8,9,), t(10,,), t(,11,), t(,,12), t(,,) }")),
      "{123,45,67,89,10,11,12,}");
  });
  test("expand() example 7: variable arguments", () => {
    const d = `#define debug(...) fprintf(stderr, __VA_ARGS__)
#define showlist(...) puts(#__VA_ARGS__)
#define report(test, ...) ((test)?puts(#test): printf(__VA_ARGS__))
`;
    assert.equal(run(d, 'debug("X = %d\\n", x);'), 'fprintf(stderr, "X = %d\\n", x);');
    assert.equal(run(d, "showlist(The first, second, and third items.);"), 'puts("The first, second, and third items.");');
    assert.equal(nospace(run(d, 'report(x>y, "x is %d but y is %d", x, y);')), nospace('((x>y)?puts("x>y"): printf("x is %d but y is %d", x, y));'));
  });
});

describe("Expander.expand(): hide sets and GNU extensions", () => {
  const CASES: [string, string, string, string][] = [
    ["does not expand a macro inside itself", "#define foo foo + 1\n", "foo", "foo + 1"],
    ["stops mutual recursion", "#define a b\n#define b a\n", "a b", "a b"],
    ["paints through function-like recursion", "#define f(x) g(x)\n#define g(x) f(x)\n", "f(1)", "f(1)"],
    ["uses the closing parenthesis' hide set (f(2)(9))", "#define f(a) a*g\n#define g(a) f(a)\n", "f(2)(9)", "2*9*g"],
    ["leaves a function-like name without ( alone", "#define f(x) x\n", "f + 1", "f + 1"],
    ["elides the comma before an empty __VA_ARGS__ (, ##)", "#define e(fmt, ...) p(fmt, ## __VA_ARGS__)\n", "e(x) e(x, 1)", "p(x) p(x, 1)"],
    ["supports named variadic parameters", "#define e(fmt, args...) p(fmt, args)\n", "e(a, b, c)", "p(a, b, c)"],
    ["supports __VA_OPT__", "#define F(a, ...) f(a __VA_OPT__(,) __VA_ARGS__)\n", "F(1) F(1,2)", "f(1) f(1, 2)"],
    ["expands arguments before substitution, not operands of ##", "#define A 1\n#define cat(a,b) a ## b\n#define id(a) a\n", "cat(A,A) id(A)", "AA 1"],
    ["rescans pasted tokens", "#define AB done\n#define cat(a,b) a ## b\n", "cat(A,B)", "done"],
  ];
  for (const [name, defs, input, want] of CASES) test(`expand() ${name}`, () => assert.equal(run(defs, input), want));

  test("expand() rejects an invalid paste, an unterminated call and a wrong argument count", () => {
    const bad = (defs: string, input: string) => assert.throws(() => run(defs, input), (e: unknown) => e instanceof ScanFallback && e.kind === "error");
    bad("#define P(a,b) a ## b\n", "P(+,-)");
    bad("#define f(a) a\n", "f(1");
    bad("#define f(a, b) a\n", "f(1)");
    bad("#define f(a) a\n", "f(1, 2)");
  });
});

describe("Expander.expand() in #if", () => {
  test("expand() evaluates defined X and defined(X) without expanding X", () => {
    assert.equal(run("#define FOO BAR\n", "defined FOO + defined(FOO) + defined BAR", true), "1 + 1 + 0");
  });
  test("expand() evaluates a `defined` produced by a macro", () => {
    assert.equal(run("#define HAS defined(FOO)\n#define FOO\n", "HAS && !defined NOPE", true), "1 && !0");
  });
  test("expand() passes __has_include operands literally or glued from a macro", () => {
    const calls: string[] = [];
    const e = expander('#define H __has_include\n#define HDR "yes.h"\n', calls);
    assert.equal(spell(e.expand(toks('__has_include(<yes.h>) + H(<no.h>) + __has_include(HDR) + __has_include_next("x.h")'), true)), "1 + 0 + 1 + 0");
    assert.deepEqual(calls, ["has:<yes.h>", "has:<no.h>", 'has:"yes.h"', 'next:"x.h"']);
  });
  test("expand() macro-expands the operand of a __has_* query, as gcc and clang do", () => {
    const calls: string[] = [];
    const e = expander("#define foo noreturn\n", calls);
    assert.equal(spell(e.expand(toks("__has_attribute(foo) && __has_builtin(__builtin_expect)"), true)), "1 && 0");
    assert.deepEqual(calls, ["__has_attribute(noreturn)", "__has_builtin(__builtin_expect)"]);
  });
  test("expand() gives dynamic builtins their value and falls back on unmodelled operators", () => {
    assert.equal(run("", "__LINE__", true), "42");
    assert.throws(() => run("", "__is_target_arch(x86_64)", true), (e: unknown) => e instanceof ScanFallback && e.kind === "unsupported");
  });
  test("record() lists the macro entries consulted (queries included), and nothing when another builtin was used", () => {
    const e = expander("#define A B\n#define B 1\n");
    e.record();
    e.expand(toks("A + defined C"), true);
    assert.deepEqual(e.consulted()?.names, ["A", "B", "C"]);
    e.record();
    e.expand(toks("__has_attribute(A)"), true);
    assert.deepEqual(e.consulted()?.names, ["__has_attribute", "A", "B"]);
    e.record();
    e.expand(toks("__LINE__"), true);
    assert.equal(e.consulted(), null);
  });
});

describe("includeOperand()", () => {
  test("includeOperand() reads strings, header names and glued <…> token runs", () => {
    assert.deepEqual(includeOperand(toks('"a b.h"')), { angle: false, name: "a b.h" });
    assert.deepEqual(includeOperand(tokenizeLine("<sys/x.h>", 0, 9, MODE, true)), { angle: true, name: "sys/x.h" });
    assert.deepEqual(includeOperand(toks("< sys / x .h >")), { angle: true, name: "sys / x .h" });
    assert.equal(includeOperand(toks("foo")), undefined);
  });
});
