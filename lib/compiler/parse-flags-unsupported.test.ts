import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseFlags } from "./parse-flags.ts";

/** Each row: argv (after "gcc"), and the exact reason goma gives for compiling locally. */
const CASES: [string[], string][] = [
  [["a.c", "-o", "a"], "no -c: link step (or another step that does not compile to an object)"],
  [["a.o", "b.o", "-o", "prog"], "no -c: link step (or another step that does not compile to an object)"],
  [["-E", "a.c"], "-E: preprocess only, does not compile to an object file"],
  [["-c", "-E", "a.c"], "-E: preprocess only, does not compile to an object file"],
  [["-S", "a.c"], "-S: assembly output, does not compile to an object file"],
  [["-M", "a.c"], "-M/-MM without -MD/-MMD: dependency listing only, does not compile"],
  [["-MM", "-c", "a.c"], "-M/-MM without -MD/-MMD: dependency listing only, does not compile"],
  [["-c", "a.c", "b.c"], "multiple input files: a.c b.c"],
  [["-c"], "no input file"],
  [["-c", "-x", "c", "-"], "input from stdin (-)"],
  [["-c", "a.s"], "input a.s is not C or C++ source (by its extension)"],
  [["-c", "a.S"], "input a.S is not C or C++ source (by its extension)"],
  [["-c", "a.i"], "input a.i is not C or C++ source (by its extension)"],
  [["-c", "a.o"], "input a.o is not C or C++ source (by its extension)"],
  [["-c", "a.h"], "input a.h is not C or C++ source (by its extension)"],
  [["-c", "-x", "assembler-with-cpp", "a.c"], "input a.c is -x assembler-with-cpp, not C or C++ source"],
  [["-c", "-x", "c++-header", "a.h"], "input a.h is -x c++-header, not C or C++ source"],
  [["-c", "a.c", "-fprofile-generate"], "-fprofile-*: profile data is read or written outside the tracked inputs and outputs"],
  [["-c", "a.c", "-fprofile-use=x.profdata"], "-fprofile-*: profile data is read or written outside the tracked inputs and outputs"],
  [["-c", "a.c", "-fprofile-arcs"], "-fprofile-*: profile data is read or written outside the tracked inputs and outputs"],
  [["-c", "a.c", "--coverage"], "--coverage: profile data is read or written outside the tracked inputs and outputs"],
  [["-c", "a.c", "-ftest-coverage"], "-ftest-coverage: profile data is read or written outside the tracked inputs and outputs"],
  [["-c", "a.c", "-save-temps"], "-save-temps: writes files goma does not track"],
  [["-c", "a.c", "-save-temps=obj"], "-save-temps: writes files goma does not track"],
  [["-c", "a.c", "-fplugin=p.so"], "-fplugin: compiler plugins are not supported"],
  [["-c", "a.c", "-Xclang", "-load"], "-Xclang -load: clang plugins are not supported"],
  [["-c", "a.c", "-specs=x.specs"], "-specs: spec files are not supported"],
  [["-c", "a.c", "-specs", "x.specs"], "-specs: spec files are not supported"],
  [["-c", "a.c", "-wrapper", "gdb,--args"], "-wrapper: the driver runs a wrapper program"],
  [["-c", "a.c", "-###"], "-###: prints the driver's commands"],
  [["-c", "a.c", "-v"], "-v: prints the driver's commands"],
  [["-print-search-dirs"], "-print-*: asks the driver, does not compile"],
  [["-c", "a.c", "-print-prog-name=cc1"], "-print-*: asks the driver, does not compile"],
  [["-dumpversion"], "-dump*: asks the driver, does not compile"],
  [["-c", "a.c", "-fdump-tree-all"], "-fdump-*: writes files goma does not track (compiler dumps)"],
  [["-c", "a.c", "-fstack-usage"], "-fstack-usage: writes files goma does not track (.su)"],
  [["-c", "a.c", "-MD", "-MG"], "-MG: missing headers are allowed, so the inputs cannot be known"],
  [["-c", "a.c", "-fsyntax-only"], "-fsyntax-only: does not compile to an object file"],
  [["-c", "a.c", "-o", "-"], "-o -: object written to stdout"],
  [["-c", "a.c", "--frobnicate"], "unknown flag --frobnicate"],
  [["-c", "a.c", "-Z", "b"], "unknown flag -Z"],
  [["-c", "a.c", "-o"], "missing argument to -o"],
  [["-c", "a.c", "-include-pch", "a.pch"], "-include-pch: precompiled headers are not supported"],
  [["-c", "a.c", "-fmodules"], "-fmodules*: clang/C++ modules are not supported"],
  [["-c", "a.c", "@/nonexistent/goma-test.rsp"], "cannot read response file /nonexistent/goma-test.rsp: ENOENT"],
];

describe("parseFlags() unsupported cases", () => {
  for (const [args, reason] of CASES) {
    test(`parseFlags() runs gcc ${args.join(" ")} locally`, () => {
      assert.equal(parseFlags(["gcc", ...args], "/src").unsupported, reason);
    });
  }

  test("parseFlags() accepts what the unsupported list does not name", () => {
    for (const ok of [["-frandom-seed=abc"], ["-B", "/opt/bin"], ["-fprofile-generate", "-fno-profile-generate"].slice(1)]) {
      assert.equal(parseFlags(["gcc", "-c", "a.c", ...ok], "/src").unsupported, undefined, ok.join(" "));
    }
  });

  test("parseFlags() reports the first reason and still fills what it parsed", () => {
    const f = parseFlags(["gcc", "-E", "-Iinc", "a.c", "-o", "a.i"], "/src");
    assert.equal(f.unsupported, "-E: preprocess only, does not compile to an object file");
    assert.equal(f.input, "a.c");
    assert.equal(f.output, "a.i");
    assert.deepEqual(f.includeDirs.angle, ["inc"]);
  });

  test("parseFlags() never throws on an empty argv", () => {
    const f = parseFlags([], "/src");
    assert.equal(f.unsupported, "empty command line");
    assert.deepEqual(f.args, []);
  });

  test("parseFlags() takes the language of an unusable input from the compiler name", () => {
    assert.equal(parseFlags(["g++", "-c", "a.s"], "/src").lang, "c++");
    assert.equal(parseFlags(["gcc", "-c"], "/src").lang, "c");
  });
});
