import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hasProgramText, lexFile, lineAt, type LexMode } from "./lexer.ts";

const C: LexMode = { rawStrings: false, digitSeparators: false };
const CXX: LexMode = { rawStrings: true, digitSeparators: true };

/** name + the directive's text after the name, trimmed. */
function dirs(src: string, mode: LexMode = C): string[] {
  const l = lexFile(src, mode);
  return l.directives.map((d) => `${d.name}:${l.text.slice(d.start, d.end).trim()}`);
}

describe("lexFile()", () => {
  const CASES: [string, string, string[], LexMode?][] = [
    ["finds directives with leading white space and after `#` white space", "  #  include <a.h>\n\t#define X 1\n", ["include:<a.h>", "define:X 1"]],
    ["ignores a `#` that is not first on its line", "int x; #define X 1\n#define Y\n", ["define:Y"]],
    ["skips block comments, even ones holding directives", "/*\n#define A\n*/\n#define B\n", ["define:B"]],
    ["skips line comments", "// #define A\n#define B // c\n", ["define:B // c"]],
    ["takes a directive after a comment at the start of a line", "/* a\n b */ #define A 1\n", ["define:A 1"]],
    ["not after a comment begun after program text", "int x; /* a\n b */ #define A 1\n", []],
    ["continues a directive through a block comment's newlines", "#if 1 /* multi\nline */ && 0\n#endif\n", ["if:1 /* multi\nline */ && 0", "endif:"]],
    ["skips string literals holding `#` lines", 'const char* s = "\\\n#define A";\n#define B\n', ["define:B"]],
    ["ends an unterminated string at the end of its line", "x = \"abc\n#define B\n", ["define:B"]],
    ["ends an unterminated char literal at the end of its line", "don't\n#define B\n", ["define:B"]],
    ["joins line continuations first", "#def\\\nine A \\\n 1\n", ["define:A  1"]],
    ["accepts white space between a backslash and the newline", "#define A \\  \n 1\n#define B\n", ["define:A  1", "define:B"]],
    ["continues a // comment onto the next line with a backslash", "// a \\\n#define A\n#define B\n", ["define:B"]],
    ["recognizes the %: digraph", "%:define A\n", ["define:A"]],
    ["keeps the null directive and line markers", "#\n# 12 \"f.c\"\n", [":", "#:12 \"f.c\""]],
    ["treats a UTF-8 BOM as white space", "\xEF\xBB\xBF#define A\n", ["define:A"]],
    ["keeps `//` inside a header name", "#include <a//b.h>\n", ["include:<a//b.h>"]],
    ["keeps `/*` inside a header name", "#include <a/*b.h>\n#define X\n", ["include:<a/*b.h>", "define:X"]],
    ["skips raw strings in C++", 'auto s = R"x(\n#define A\n)x";\n#define B\n', ["define:B"], CXX],
    ["skips prefixed raw strings", 'auto s = u8R"(\n#define A\n)";\n#define B\n', ["define:B"], CXX],
    ["does not take FOOR\"…\" for a raw string", 'FOOR"(";\n#define B\n', ["define:B"], CXX],
    ["lexes R\"(…)\" as an identifier and a string when raw strings are off", 'R"(\n#define A\n)";\n', ["define:A"]],
    ["keeps digit separators inside numbers in C++14", "int x = 1'000'000;\n#define A\n", ["define:A"], CXX],
    ["takes a quote after a number for a char literal in C", "int x = 1'0';\n#define A\n", ["define:A"]],
    ["handles comments that end in many stars", "/***/\n#define A\n/* ** */#define B\n", ["define:A", "define:B"]],
  ];
  for (const [name, src, want, mode] of CASES) {
    test(`lexFile() ${name}`, () => assert.deepEqual(dirs(src, mode), want));
  }

  test("lexFile() flags _Pragma(\"once\")", () => {
    assert.equal(lexFile('_Pragma("once")\n', C).pragmaOperator, true);
    assert.equal(lexFile('_Pragma("GCC diagnostic push")\n', C).pragmaOperator, false);
  });
  test("lexFile() replaces trigraphs only in a trigraph mode, before line continuations", () => {
    const T: LexMode = { ...C, trigraphs: true };
    const src = "??=define A\n// a comment ??/\n#define HIDDEN\n#define B ??( ??) ??< ??> ??' ??! ??-\n";
    assert.deepEqual(dirs(src, T), ["define:A", "define:B [ ] { } ^ | ~"]);
    assert.deepEqual(dirs(src, C), ["define:HIDDEN", "define:B ??( ??) ??< ??> ??' ??! ??-"]);
    const l = lexFile(src, T);
    assert.equal(lineAt(l.text, l.splices, l.directives[1]!.at, {}), 4);
  });
});

describe("lineAt()", () => {
  test("lineAt() counts physical lines, including continuations removed before the offset", () => {
    const l = lexFile("#define A \\\n 1\n\n#define B\n#if X \\\n\\\n\n#endif\n", C);
    const cache = {};
    assert.deepEqual(l.directives.map((d) => lineAt(l.text, l.splices, d.at, cache)), [1, 4, 5, 8]);
  });
});

describe("hasProgramText()", () => {
  test("hasProgramText() sees through white space and comments only", () => {
    const t = "  /* c */\n// d\n\t";
    assert.equal(hasProgramText(t, 0, t.length), false);
    assert.equal(hasProgramText("/* c */ x", 0, 9), true);
  });
});
