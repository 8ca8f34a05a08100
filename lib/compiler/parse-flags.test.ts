import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseFlags } from "./parse-flags.ts";
import type { CompilerFlags } from "./types.ts";

const CWD = "/src";
const parse = (...args: string[]) => parseFlags(["gcc", "-c", "a.c", ...args], CWD);

/** Each row: extra args after `gcc -c a.c`, and the fields they must produce. */
const FORMS: [string, string[], Partial<CompilerFlags>][] = [
  ["-I separate", ["-I", "inc"], { includeDirs: { quote: [], angle: ["inc"], system: [], after: [] } }],
  ["-I joined", ["-Iinc", "-I/abs"], { includeDirs: { quote: [], angle: ["inc", "/abs"], system: [], after: [] } }],
  ["-iquote, -isystem, -idirafter both forms", ["-iquote", "q", "-iquoteq2", "-isystem", "s", "-isystems2", "-idirafter", "d", "-idirafterd2"],
    { includeDirs: { quote: ["q", "q2"], angle: [], system: ["s", "s2"], after: ["d", "d2"] } }],
  ["-o separate", ["-o", "out/a.o"], { output: "out/a.o", outputs: ["out/a.o"] }],
  ["-o joined", ["-oout/a.o"], { output: "out/a.o", outputs: ["out/a.o"] }],
  ["-MF separate with -MD", ["-MD", "-MF", "deps/a.d"], { depFile: "deps/a.d", outputs: ["a.o", "deps/a.d"] }],
  ["-MF joined with -MMD", ["-MMD", "-MFdeps/a.d"], { depFile: "deps/a.d", outputs: ["a.o", "deps/a.d"] }],
  ["-MD default dep file next to -o", ["-o", "out/x.obj", "-MD"], { depFile: "out/x.d", outputs: ["out/x.obj", "out/x.d"] }],
  ["-MMD default dep file without -o", ["-MMD"], { depFile: "a.d", outputs: ["a.o", "a.d"] }],
  ["-MD with an extensionless object", ["-o", "out/noext", "-MD"], { depFile: "out/noext.d" }],
  ["-MT/-MQ values are targets, not inputs", ["-MD", "-MT", "x.c", "-MQ", "y.c", "-MTz.c", "-MQw.c", "-MP"],
    { input: "a.c", outputs: ["a.o", "a.d"], unsupported: undefined }],
  ["-Wp,-MD,file", ["-Wp,-MD,out/a.d"], { depFile: "out/a.d", outputs: ["a.o", "out/a.d"] }],
  ["-Wp,-MMD,file", ["-Wp,-MMD,out/a.d"], { depFile: "out/a.d", outputs: ["a.o", "out/a.d"] }],
  ["-Wp,-D macros", ["-Wp,-D_FORTIFY_SOURCE=2", "-Wp,-U,X"],
    { defines: [{ kind: "D", value: "_FORTIFY_SOURCE=2" }, { kind: "U", value: "X" }] }],
  ["-gsplit-dwarf adds .dwo", ["-o", "out/a.o", "-g", "-gsplit-dwarf"], { outputs: ["out/a.o", "out/a.dwo"] }],
  ["-gsplit-dwarf with -MD", ["-MD", "-gsplit-dwarf"], { outputs: ["a.o", "a.d", "a.dwo"] }],
  ["-gsplit-dwarf=single has no .dwo", ["-gsplit-dwarf=single"], { outputs: ["a.o"] }],
  ["-gno-split-dwarf cancels", ["-gsplit-dwarf", "-gno-split-dwarf"], { outputs: ["a.o"] }],
  ["-D/-U both forms, in order", ["-D", "A=1", "-DB", "-U", "C", "-UD", "-D", "E=a b"],
    { defines: [{ kind: "D", value: "A=1" }, { kind: "D", value: "B" }, { kind: "U", value: "C" },
      { kind: "U", value: "D" }, { kind: "D", value: "E=a b" }] }],
  ["-include and -imacros in order", ["-include", "p.h", "-imacros", "m.h", "-includeq.h", "--include", "r.h"],
    { includes: ["p.h", "m.h", "q.h", "r.h"] }],
  ["--sysroot=", ["--sysroot=/sr"], { sysroot: "/sr", infoFlags: ["--sysroot=/sr"] }],
  ["--sysroot separate", ["--sysroot", "/sr"], { sysroot: "/sr", infoFlags: ["--sysroot", "/sr"] }],
  ["-isysroot is the sysroot when no --sysroot", ["-isysroot", "/isr"], { sysroot: "/isr", infoFlags: ["-isysroot", "/isr"] }],
  ["--sysroot wins over -isysroot", ["-isysroot/isr", "--sysroot=/sr"], { sysroot: "/sr", infoFlags: ["-isysroot/isr", "--sysroot=/sr"] }],
  ["info flags in order", ["-m32", "-std=c11", "-O2", "-nostdinc", "-B", "bin", "-Bbin2", "-Wall", "-mx32", "-m64", "-fPIC"],
    { infoFlags: ["-m32", "-std=c11", "-nostdinc", "-B", "bin", "-Bbin2", "-mx32", "-m64"] }],
  ["clang target and stdlib", ["--target=aarch64-linux-gnu", "-target", "x86_64-linux-gnu", "-stdlib=libc++", "-nostdinc++"],
    { infoFlags: ["--target=aarch64-linux-gnu", "-target", "x86_64-linux-gnu", "-stdlib=libc++", "-nostdinc++"] }],
  ["-fno-integrated-as is an info flag", ["-fno-integrated-as"], { infoFlags: ["-fno-integrated-as"] }],
  ["prefix maps and random seed are kept", ["-fdebug-prefix-map=/src=.", "-ffile-prefix-map=/a=b", "-fmacro-prefix-map=/c=d", "-frandom-seed=x"],
    { unsupported: undefined, input: "a.c", infoFlags: [] }],
  ["value-less families are fine", ["-Wall", "-Werror=format", "-Wl,-z,now", "-Wa,--noexecstack", "-O3", "-Os", "-g3", "-ggdb",
    "-march=native", "-pthread", "-pipe", "-pedantic-errors", "-ansi", "-w", "-fno-exceptions", "-Qunused-arguments"],
    { unsupported: undefined, input: "a.c" }],
  ["separate values are not inputs", ["-Xclang", "-fcolor-diagnostics", "-mllvm", "-x86-asm-syntax=intel", "--param", "ssp-buffer-size=4",
    "-Xpreprocessor", "b.c", "-arch", "x86_64"], { unsupported: undefined, input: "a.c" }],
];

describe("parseFlags() flag forms", () => {
  for (const [name, extra, want] of FORMS) {
    test(`parseFlags() ${name}`, () => {
      const got = parse(...extra);
      for (const [k, v] of Object.entries(want)) {
        assert.deepEqual(got[k as keyof CompilerFlags], v, `${k} for ${extra.join(" ")}`);
      }
    });
  }
});

describe("parseFlags() basics", () => {
  test("parseFlags() fills every field of a plain compile", () => {
    assert.deepEqual(parseFlags(["gcc", "-c", "src/a.c", "-o", "a.o", "-Iinc"], CWD), {
      args: ["gcc", "-c", "src/a.c", "-o", "a.o", "-Iinc"], compiler: "gcc", family: "gcc", lang: "c",
      input: "src/a.c", output: "a.o", outputs: ["a.o"], infoFlags: [],
      includeDirs: { quote: [], angle: ["inc"], system: [], after: [] }, includes: [], defines: [],
    });
  });

  test("parseFlags() puts the default object in cwd, named after the input", () => {
    const f = parseFlags(["clang++", "-c", "/abs/dir/b.cc"], CWD);
    assert.equal(f.output, "b.o");
    assert.deepEqual(f.outputs, ["b.o"]);
  });

  const LANGS: [string[], "c" | "c++"][] = [
    [["gcc", "-c", "a.c"], "c"],
    [["gcc", "-c", "a.cc"], "c++"], [["gcc", "-c", "a.cpp"], "c++"], [["gcc", "-c", "a.cxx"], "c++"],
    [["gcc", "-c", "a.C"], "c++"], [["gcc", "-c", "a.c++"], "c++"],
    [["clang", "-c", "a.cc"], "c++"],
    [["g++", "-c", "a.c"], "c++"], // g++ and clang++ compile .c as C++
    [["clang++-14", "-c", "a.c"], "c++"],
    [["x86_64-linux-gnu-g++-12", "-c", "a.c"], "c++"],
    [["gcc", "-x", "c++", "-c", "a.c"], "c++"], [["g++", "-xc", "-c", "a.cc"], "c"],
    [["gcc", "-x", "c++", "-x", "none", "-c", "a.c"], "c"],
    [["gcc", "-c", "a.c", "-x", "c++"], "c"], // -x after the input does not apply to it
    [["g++", "-c", "-x", "c++", "a.txt"], "c++"],
  ];
  for (const [argv, lang] of LANGS) {
    test(`parseFlags() lang of ${argv.join(" ")} is ${lang}`, () => {
      const f = parseFlags(argv, CWD);
      assert.equal(f.unsupported, undefined);
      assert.equal(f.lang, lang);
    });
  }

  const FAMILIES: [string, "gcc" | "clang" | "fake" | "", string | undefined][] = [
    ["gcc", "gcc", undefined], ["g++", "gcc", undefined], ["cc", "gcc", undefined], ["c++", "gcc", undefined],
    ["x86_64-linux-gnu-gcc-12", "gcc", undefined], ["gcc-12", "gcc", undefined], ["/usr/bin/g++", "gcc", undefined],
    ["clang", "clang", undefined], ["clang++", "clang", undefined], ["clang-14", "clang", undefined],
    ["clang++-14", "clang", undefined], ["/usr/lib/llvm-14/bin/clang", "clang", undefined],
    // No type claims these: unknown compilers (run locally), never silently gcc.
    ["clang-cl", "", 'unknown compiler "clang-cl": no compiler type claims it (fake, clang, gcc)'],
    ["cl.exe", "", 'unknown compiler "cl.exe": no compiler type claims it (fake, clang, gcc)'],
    ["gcc-ar", "", 'unknown compiler "gcc-ar": no compiler type claims it (fake, clang, gcc)'],
    // The fake type's compiler is not gcc-style: the gcc-style parser refuses it.
    ["fake-cc", "fake", 'compiler "fake-cc" is of type fake, not a gcc-style driver'],
  ];
  for (const [argv0, family, unsupported] of FAMILIES) {
    test(`parseFlags() recognizes ${argv0} as ${unsupported ? "unknown" : family}`, () => {
      const f = parseFlags([argv0, "-c", "a.c"], CWD);
      assert.equal(f.family, family);
      assert.equal(f.unsupported, unsupported);
      assert.equal(f.compiler, argv0);
    });
  }

  test("parseFlags() keeps argv as given when nothing is expanded", () => {
    const argv = ["gcc", "-c", "a.c", "-DX=\"a b\""];
    assert.deepEqual(parseFlags(argv, CWD).args, argv);
  });

  test("parseFlags() prefers the longest table match", () => {
    // -include-pch is not -include with value "-pch"; -fplugin= is not an -f flag.
    assert.equal(parse("-include-pch", "x.pch").unsupported, "-include-pch: precompiled headers are not supported");
    assert.equal(parse("-fplugin=x.so").unsupported, "-fplugin: compiler plugins are not supported");
    assert.deepEqual(parse("-isysroot", "/x").includeDirs.system, []);
  });
});
