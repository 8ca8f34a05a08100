import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Dk, lineOf, parseDirectives } from "./directives.ts";
import { lexFile, type LexMode } from "./lexer.ts";
import { defineText, parseDefine } from "./macros.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { Tk } from "./tokens.ts";

const MODE: LexMode = { rawStrings: false, digitSeparators: false };
const parse = (src: string) => parseDirectives(lexFile(src, MODE), MODE);

describe("parseDirectives()", () => {
  test("parseDirectives() links each branch to the next one and to its #endif", () => {
    const f = parse("#if A\n#elif B\n#ifdef C\n#endif\n#else\n#endif\n");
    assert.deepEqual(f.dirs.map((d) => [d.k, d.next, d.endif]), [
      [Dk.If, 1, 5], [Dk.Elif, 4, 5], [Dk.Ifdef, 3, 3], [Dk.Endif, -1, 3], [Dk.Else, 5, 5], [Dk.Endif, -1, 5],
    ]);
  });
  test("parseDirectives() keeps only directives that can change the inputs", () => {
    const f = parse("#pragma GCC system_header\n#warning w\n#ident \"x\"\n#\n#pragma once\n#pragma push_macro(\"X\")\n#error e\n#line 3\n");
    assert.deepEqual(f.dirs.map((d) => d.k), [Dk.PragmaOnce, Dk.PushMacro, Dk.Error, Dk.Line]);
    assert.equal(f.dirs[1]!.name, "X");
  });
  test("parseDirectives() marks unknown directives and #embed invalid", () => {
    const f = parse("#foo\n#embed \"x\"\n");
    assert.deepEqual(f.dirs.map((d) => [d.k, d.why]), [[Dk.Invalid, "invalid preprocessing directive #foo"], [Dk.Invalid, "#embed is not modelled"]]);
  });
  test("parseDirectives() reports unbalanced conditionals", () => {
    assert.match(parse("#if 1\n").error ?? "", /unterminated/);
    assert.match(parse("#endif\n").error ?? "", /without #if/);
    assert.match(parse("#if 1\n#else\n#elif 2\n#endif\n").error ?? "", /after #else/);
  });
  test("lineOf() gives physical lines", () => {
    const f = parse("\n#define A \\\n 1\n\n#if X\n#endif\n");
    assert.deepEqual(f.dirs.map((d) => lineOf(f, d)), [2, 5, 6]);
  });

  const GUARDS: [string, string, string | undefined][] = [
    ["#ifndef X", "// c\n#ifndef X\n#define X\nint x;\n#endif\n/* done */\n", "X"],
    ["#if !defined X", "#if !defined X\n#define X\n#endif\n", "X"],
    ["#if !defined(X)", "#if !defined ( X )\n#endif\n", "X"],
    ["ignored directives outside", "#pragma GCC system_header\n#ifndef X\n#endif\n#pragma foo\n", "X"],
    ["no guard: text before", "int y;\n#ifndef X\n#endif\n", undefined],
    ["no guard: text after", "#ifndef X\n#endif\nint y;\n", undefined],
    ["no guard: text between an ignored directive and the #ifndef", "#pragma foo\nint y;\n#ifndef X\n#endif\n", undefined],
    ["no guard: an #else", "#ifndef X\n#else\n#endif\n", undefined],
    ["no guard: a second group", "#ifndef X\n#endif\n#ifndef Y\n#endif\n", undefined],
    ["no guard: a #define before", "#define Y\n#ifndef X\n#endif\n", undefined],
    ["no guard: #if !defined X && Y", "#if !defined X && Y\n#endif\n", undefined],
    ["no guard: #ifdef", "#ifdef X\n#endif\n", undefined],
  ];
  for (const [name, src, want] of GUARDS) {
    test(`parseDirectives() guard detection: ${name}`, () => assert.equal(parse(src).guard, want));
  }
});

describe("parseDefine()", () => {
  const def = (s: string) => parseDefine(tokenizeLine(s, 0, s.length, MODE, false), "t.h:1");
  test("parseDefine() reads object-like and function-like macros", () => {
    const o = def("A (1 + 2)");
    assert.equal(o.params, null);
    assert.deepEqual(o.body.map((t) => t.t), ["(", "1", "+", "2", ")"]);
    const f = def("F(a, b, ...) a ## b #a __VA_ARGS__");
    assert.deepEqual(f.params, ["a", "b", "__VA_ARGS__"]);
    assert.equal(f.variadic, true);
    assert.deepEqual([...f.pidx], [0, -2, 1, -1, 0, 2]);
    assert.deepEqual(def("G(x...) x").params, ["x"]);
    assert.deepEqual(def("H() 1").params, []);
  });
  test("parseDefine() needs no white space rule for object-like macros starting with (", () => {
    assert.equal(def("A (x)").params, null);
    assert.deepEqual(def("A(x)").params, ["x"]);
  });
  for (const bad of ["", "1", "defined", "F(a", "F(a,)", "F(1)", "F(..., a)", "A ## b ##", "## a", "F(a) #b"]) {
    test(`parseDefine() rejects #define ${bad}`, () => {
      assert.throws(() => def(bad), (e: unknown) => e instanceof ScanFallback && e.kind === "error" && e.message.startsWith("t.h:1"));
    });
  }
  test("defineText() turns -D values into #define lines", () => {
    assert.equal(defineText("X"), "X 1");
    assert.equal(defineText("X="), "X ");
    assert.equal(defineText("F(a)=a+1"), "F(a) a+1");
    assert.equal(defineText("X=a=b\nc"), "X a=b");
  });
});

describe("tokenizeLine()", () => {
  const kinds = (s: string, header = false) => tokenizeLine(s, 0, s.length, { rawStrings: true, digitSeparators: true }, header).map((t) => `${t.k}:${t.t}${t.ws ? "_" : ""}`);
  test("tokenizeLine() lexes identifiers, pp-numbers, literals and punctuators", () => {
    assert.deepEqual(kinds("a1 0x1fUL 1.5e+3 1'000 L'x' u8\"s\" R\"d(q)\")d\" <<= ... %: <: ## @"), [
      `${Tk.Ident}:a1`, `${Tk.Number}:0x1fUL_`, `${Tk.Number}:1.5e+3_`, `${Tk.Number}:1'000_`, `${Tk.Char}:L'x'_`,
      `${Tk.String}:u8"s"_`, `${Tk.String}:R"d(q)")d"_`, `${Tk.Punct}:<<=_`, `${Tk.Punct}:..._`, `${Tk.Punct}:#_`,
      `${Tk.Punct}:[_`, `${Tk.Punct}:##_`, `${Tk.Other}:@_`,
    ]);
  });
  test("tokenizeLine() treats comments as white space and stops at //", () => {
    assert.deepEqual(kinds("a/**/b // c"), [`${Tk.Ident}:a`, `${Tk.Ident}:b_`]);
  });
  test("tokenizeLine() lexes header names only where they can be", () => {
    assert.deepEqual(kinds(" <a/b.h>", true), [`${Tk.Header}:<a/b.h>_`]);
    assert.deepEqual(kinds("<a.h>").map((k) => k.split(":")[0]), [String(Tk.Punct), String(Tk.Ident), String(Tk.Punct), String(Tk.Ident), String(Tk.Punct)]);
    assert.deepEqual(kinds("__has_include(<a.h>) && __has_include_next( <b.h> )"), [
      `${Tk.Ident}:__has_include`, `${Tk.Punct}:(`, `${Tk.Header}:<a.h>`, `${Tk.Punct}:)`, `${Tk.Punct}:&&_`,
      `${Tk.Ident}:__has_include_next_`, `${Tk.Punct}:(`, `${Tk.Header}:<b.h>_`, `${Tk.Punct}:)_`,
    ]);
  });
});
