import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { discoverInputs, getCompilerInfo, parseFlags } from "../compiler/index.ts";
import { IncludeProcessor, ScanFallback } from "./index.ts";

/**
 * The scanner on a small project written to exercise one rule per case, each checked against the
 * compiler's own `-M` with gcc and clang: every file -M lists must be found, and anything more must be
 * what the scanner adds on purpose (files found by __has_include, a #pragma once file's second path).
 */
const ENV = { ...process.env } as Record<string, string>;
for (const v of ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]) delete ENV[v];
let proj = "";
const inc = new IncludeProcessor();
let cacheDir = "";

const FILES: Record<string, string> = {
  // nested conditionals, macros in #if, groups not taken that name missing headers
  "cond.c": `#define LEVEL 3
#define TWICE(x) ((x) * 2)
#if LEVEL > 2 && TWICE(LEVEL) == 6
# include "taken1.h"
# if defined(NOPE) || !defined LEVEL
#  include "missing1.h"
# elif LEVEL == 3
#  include "taken2.h"
# else
#  include "missing2.h"
# endif
#elif 1 / 0
# include "missing3.h"
#else
# include "missing4.h"
#endif
#ifdef FROM_CMDLINE
# include "taken3.h"
#endif
#if FROM_VALUE + 0 == 7
# include "taken4.h"
#endif
#ifdef UNDONE
# include "missing5.h"
#endif
`,
  "taken1.h": "", "taken2.h": "", "taken3.h": "", "taken4.h": "",
  // #include_next along three -I dirs
  "next.c": "#include <n.h>\n",
  "d1/n.h": "#include_next <n.h>\n", "d2/n.h": "#include_next <n.h>\n", "d3/n.h": "#define N 3\n",
  // include guards, and a guard undone between two includes
  "guard.c": `#include "g.h"
#include "g.h"
#undef G_H
#define SECOND
#include "g.h"
`,
  "g.h": "#ifndef G_H\n#define G_H\n#ifdef SECOND\n#include \"g2.h\"\n#endif\n#endif\n", "g2.h": "",
  // #pragma once through two paths to one file
  "once.c": '#include "once.h"\n#include "alias/once.h"\n#include "once.h"\n',
  "once.h": '#pragma once\n#include "inner.h"\n', "inner.h": "",
  // computed includes
  "computed.c": `#define HDR(x) <x.h>
#define Q "q.h"
#define STR(x) #x
#define XSTR(x) STR(x)
#define DIR sub
#include HDR(lib)
#include Q
#include XSTR(DIR/file.h)
#define CAT(a, b) a ## b
#include XSTR(CAT(pa, sted).h)
`,
  "d1/lib.h": "", "q.h": "", "sub/file.h": "", "pasted.h": "",
  // __has_include, directly and through a macro
  "has.c": `#if __has_include("opt.h")
# include "opt.h"
#endif
#if __has_include(<missing.h>)
# include <missing.h>
#else
# include "fallback.h"
#endif
#if defined __has_include && __has_include("probe-only.h")
# define HAVE_PROBE 1
#endif
`,
  "opt.h": "", "fallback.h": "", "probe-only.h": "",
  // -include, -imacros and __FILE__/__LINE__/#line/push_macro
  "forced.c": `#ifdef FROM_IMACROS
# include "after-imacros.h"
#endif
#line 100
#if __LINE__ == 100
# include "line.h"
#endif
#define M 1
#pragma push_macro("M")
#undef M
#define M 2
#pragma pop_macro("M")
#if M == 1
# include "popped.h"
#endif
#ifndef SELF
# define SELF
# include __FILE__
#endif
`,
  "imacros.h": '#define FROM_IMACROS 1\n#include "from-imacros.h"\n', "from-imacros.h": "", "after-imacros.h": "",
  "force.h": "", "line.h": "", "popped.h": "",
  // CPATH
  "cpath.c": "#include <fromcpath.h>\n", "cp/fromcpath.h": "",
  // --sysroot moves the standard dirs; gcc's -I=dir is sysroot-relative
  "sysroot.c": "#include <sr.h>\n#ifdef EQ\n#include <fromeq.h>\n#endif\n",
  "sr/usr/include/sr.h": "", "sr/inc/fromeq.h": "",
  // #import, __has_include_next
  "import.c": '#import "imp.h"\n#import "imp.h"\n#include "imp.h"\n#include <hn.h>\n',
  "imp.h": "int imp;\n", "d1/hn.h": "#if __has_include_next(<hn.h>)\n#include_next <hn.h>\n#endif\n", "d2/hn.h": "",
  // constructs not modelled
  "utf8.c": '#include "h\u00e9.h"\n', "h\u00e9.h": "",
  "pragma-op.c": '_Pragma("once")\n',
  "trigraph.c": '??=include "tri-a.h"\n// in ISO modes this comment goes on ??/\n#include "tri-b.h"\n#include "tri-c.h"\n',
  "tri-a.h": "", "tri-b.h": "", "tri-c.h": "",
  "intrin.c": "#include <immintrin.h>\n", "random.cc": "#include <random>\n", "counter.c": "#if __COUNTER__ == 0\n#endif\n",
  // __COUNTER__ in conditions whose value does not depend on the counter (benchmark.h's check first);
  // program text advances it between them
  "counter-ok.c": `int x = __COUNTER__ + __COUNTER__;
#if defined(__COUNTER__) && (__COUNTER__ + 1 == __COUNTER__ + 0)
# include "ctr-1.h"
#else
# include "ctr-no1.h"
#endif
#define NEXT __COUNTER__
#if NEXT == NEXT || NEXT - NEXT != -1
# include "ctr-no2.h"
#elif (0 && __COUNTER__) || -__COUNTER__ + __COUNTER__ + 0u == 1 && __COUNTER__ * 2 - 2 * __COUNTER__ < 0
# include "ctr-2.h"
#endif
#define CAT(a, b) a ## b
#define XCAT(a, b) CAT(a, b)
#if 1 ? __COUNTER__ < XCAT(, __COUNTER__) : __COUNTER__
# include "ctr-3.h"
#endif
`,
  // sanitizer ignorelists: clang lists them in -M (before the source) and reads them, unpreprocessed
  "san.c": '#include "taken1.h"\n', "sub/san.c": '#include "../taken1.h"\n', "ign.txt": "# not a directive\nfun:foo\n", "sub/ign.txt": "#x\n",
  "ctr-1.h": "", "ctr-2.h": "", "ctr-3.h": "", "ctr-no1.h": "", "ctr-no2.h": "",
  "counter-cat.c": "#define CAT(a, b) a ## b\n#define XCAT(a, b) CAT(a, b)\n#define x0 1\n#if XCAT(x, __COUNTER__)\n#endif\n",
  "counter-inc.c": "#define S(x) #x\n#define XS(x) S(x)\n#include XS(__COUNTER__)\n",
  "counter-str.c": "#define S(x) #x\n#define XS(x) S(x)\n#if __has_include(XS(__COUNTER__))\n#endif\n",
  // failures
  "missing.c": '#include "nothere.h"\n', "error.c": "#error stop here\n", "badif.c": "#if 1 +\n#endif\n",
};

before(() => {
  proj = fs.mkdtempSync(path.join(os.tmpdir(), "goma-scan-"));
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-scan-info-"));
  for (const [name, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(proj, name)), { recursive: true });
    fs.writeFileSync(path.join(proj, name), text);
  }
  fs.symlinkSync(".", path.join(proj, "alias"));
});
after(() => {
  fs.rmSync(proj, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function both(cc: string, args: string[], env: Record<string, string> = ENV) {
  const flags = parseFlags([cc, ...args], proj);
  const info = await getCompilerInfo(flags, proj, env, cacheDir);
  const want = new Set(await discoverInputs(flags, info, proj, env));
  const got = await inc.scanDetailed(flags, info, proj, env);
  return { want, got, missing: [...want].filter((f) => !got.has(f)), extra: [...got.keys()].filter((f) => !want.has(f)) };
}

const CASES: [string, string[], (cc: string) => string[]][] = [
  ["nested conditionals, macros in #if, -D and -U", ["-DFROM_CMDLINE", "-DFROM_VALUE=7", "-DUNDONE", "-UUNDONE", "-c", "cond.c"], () => []],
  ["an #include_next chain over -I dirs", ["-Id1", "-Id2", "-Id3", "-c", "next.c"], () => []],
  ["include guards, undone and re-entered", ["-c", "guard.c"], () => []],
  ["computed includes (macros, #, ##)", ["-Id1", "-c", "computed.c"], () => []],
  ["__has_include, found files included or only probed", ["-c", "has.c"], (cc) => (cc.startsWith("clang") ? [] : ["probe-only.h"])],
  ["-imacros, -include, #line, push/pop_macro, #include __FILE__", ["-imacros", "imacros.h", "-include", "force.h", "-c", "forced.c"], () => []],
  ["#pragma once through two paths", ["-c", "once.c"], (cc) => (cc.startsWith("clang") ? [] : ["alias/once.h"])],
  ["a UTF-8 header name", ["-c", "utf8.c"], () => []],
];

for (const cc of ["gcc", "clang", "g++", "clang++"]) {
  describe(`scanDetailed() with ${cc}`, () => {
    for (const [name, args, extra] of CASES) {
      test(`scanDetailed() ${cc}: ${name}`, async () => {
        const r = await both(cc, args);
        assert.deepEqual(r.missing, []);
        assert.deepEqual(r.extra, extra(cc).map((f) => path.join(proj, f)));
        assert.equal([...r.got.keys()][0], path.join(proj, args[args.length - 1]!));
      });
    }
    test(`scanDetailed() ${cc}: --sysroot moves the standard dirs${cc.startsWith("g") ? ", -I=dir is under it" : ""}`, async () => {
      const eq = cc.startsWith("g") ? ["-I=/inc", "-DEQ"] : [];
      const r = await both(cc, ["--sysroot", "sr", ...eq, "-c", "sysroot.c"]);
      assert.deepEqual([r.missing, r.extra], [[], []]);
      assert.ok(r.got.has(path.join(proj, "sr/usr/include/sr.h")));
    });
    test(`scanDetailed() ${cc}: #import and __has_include_next`, async () => {
      const r = await both(cc, ["-Id1", "-Id2", "-c", "import.c"]);
      assert.deepEqual([r.missing, r.extra], [[], []]);
      assert.ok(r.got.has(path.join(proj, "d2/hn.h")));
    });
    test(`scanDetailed() ${cc}: CPATH adds a dir after -I`, async () => {
      const r = await both(cc, ["-c", "cpath.c"], { ...ENV, CPATH: path.join(proj, "cp") });
      assert.deepEqual([r.missing, r.extra], [[], []]);
    });
  });
}

describe("scanInputs() fallbacks", () => {
  const fallback = async (cc: string, args: string[]) => {
    const flags = parseFlags([cc, ...args], proj);
    const info = await getCompilerInfo(flags, proj, ENV, cacheDir);
    return inc.scanInputs(flags, info, proj, ENV);
  };
  test("scanInputs() falls back when a header is missing, with the includer and line", async () => {
    const r = await fallback("gcc", ["-c", "missing.c"]);
    assert.deepEqual(r.files, []);
    assert.equal(r.fallback, `error: ${path.join(proj, "missing.c")}:1: "nothere.h": No such file or directory`);
  });
  test("scanInputs() falls back on an active #error and a malformed #if", async () => {
    assert.match((await fallback("gcc", ["-c", "error.c"])).fallback ?? "", /^error: .*error\.c:1: #error stop here/);
    assert.match((await fallback("clang", ["-c", "badif.c"])).fallback ?? "", /^error: .*operand/);
  });
  test("scanInputs() replaces trigraphs exactly where the compiler does (ISO C, C++ before C++17, -trigraphs)", async () => {
    const runs: [string, string[]][] = [];
    for (const cc of ["gcc", "clang"]) for (const std of ["-std=c11", "-std=gnu11", "-std=c99"]) runs.push([cc, [std, "-x", "c"]]);
    for (const cc of ["g++", "clang++"]) for (const std of ["-std=c++14", "-std=c++17", "-std=c++20", "-std=gnu++14"]) runs.push([cc, [std]]);
    runs.push(["g++", ["-std=c++20", "-trigraphs"]], ["clang", ["-std=gnu11", "-trigraphs", "-x", "c"]]);
    const seen = new Set<string>();
    for (const [cc, args] of runs) {
      const r = await both(cc, [...args, "-c", "trigraph.c"]);
      assert.deepEqual([r.missing, r.extra], [[], []], `${cc} ${args.join(" ")}`);
      seen.add(String(r.want.size));
    }
    assert.equal(seen.size, 2, "the runs cover both trigraph modes");
  });
  test("scanInputs() answers clang's __building_module() (x86 intrinsic headers) as the compiler does", async () => {
    for (const [cc, args] of [["clang", ["-march=x86-64-v3", "-c", "intrin.c"]], ["clang++", ["-march=x86-64-v3", "-c", "random.cc"]],
      ["clang", ["-mavx2", "-c", "intrin.c"]]] as const) {
      const r = await both(cc, [...args]);
      assert.deepEqual([r.missing, r.extra], [[], []], `${cc} ${args.join(" ")}`);
    }
  });
  test("scanInputs() decides #if conditions whose value does not depend on __COUNTER__'s, as the compiler does", async () => {
    for (const cc of ["gcc", "clang", "g++", "clang++"]) {
      const args = cc.endsWith("++") ? ["-x", "c++", "-c", "counter-ok.c"] : ["-c", "counter-ok.c"];
      const r = await both(cc, args);
      assert.deepEqual([r.missing, r.extra], [[], []], cc);
      assert.deepEqual([...r.want].filter((f) => f.startsWith(proj)).map((f) => path.basename(f)).sort(), ["counter-ok.c", "ctr-1.h", "ctr-2.h", "ctr-3.h"], cc);
    }
  });
  test("scanInputs() lists clang's sanitizer ignorelists as -M does, without preprocessing them", async () => {
    for (const [cc, args] of [["clang", ["-fsanitize=address", "-c", "san.c"]], ["clang++", ["-fsanitize=address", "-O2", "-x", "c++", "-c", "san.c"]],
      ["clang", ["-fsanitize=address", "-fsanitize-ignorelist=ign.txt", "-c", "san.c"]], ["gcc", ["-fsanitize=address", "-c", "san.c"]]] as const) {
      const r = await both(cc, [...args]);
      assert.deepEqual([r.missing, r.extra], [[], []], `${cc} ${args.join(" ")}`);
      if (cc.startsWith("clang")) assert.ok([...r.got.keys()].some((f) => f.endsWith("/asan_ignorelist.txt")), `${cc} ${args.join(" ")}`);
    }
    // the same relative ignorelist from another cwd (one probe): that cwd's file
    const sub = path.join(proj, "sub");
    const flags = parseFlags(["clang", "-fsanitize=address", "-fsanitize-ignorelist=ign.txt", "-c", "san.c"], sub);
    const info = await getCompilerInfo(flags, sub, ENV, cacheDir);
    const got = await inc.scanDetailed(flags, info, sub, ENV);
    assert.deepEqual([...got.keys()].sort(), (await discoverInputs(flags, info, sub, ENV)).sort());
    assert.ok(got.has(path.join(sub, "ign.txt")));
  });
  test("scanInputs() falls back on _Pragma(\"once\") and on __COUNTER__ where its value matters", async () => {
    assert.match((await fallback("gcc", ["-c", "pragma-op.c"])).fallback ?? "", /^unsupported: .*_Pragma/);
    assert.match((await fallback("clang", ["-c", "counter.c"])).fallback ?? "", /^unsupported: __COUNTER__/);
    assert.match((await fallback("gcc", ["-c", "counter-cat.c"])).fallback ?? "", /^unsupported: __COUNTER__ in a ## paste/);
    assert.match((await fallback("gcc", ["-c", "counter-str.c"])).fallback ?? "", /^unsupported: __COUNTER__ in a # stringizing/);
    assert.match((await fallback("clang", ["-c", "counter-inc.c"])).fallback ?? "", /^unsupported: __COUNTER__ in a directive is not modelled/);
    assert.match((await fallback("clang", ["--sysroot", "sr", "-I=/inc", "-c", "sysroot.c"])).fallback ?? "", /^unsupported: include dir =\/inc/);
  });
  test("scanInputs() falls back on options it does not model", async () => {
    assert.match((await fallback("gcc", ["-traditional-cpp", "-c", "cond.c"])).fallback ?? "", /^unsupported: -traditional-cpp/);
    assert.match((await fallback("gcc", ["-iprefix", "x", "-c", "cond.c"])).fallback ?? "", /^unsupported: -iprefix/);
  });
  test("scanInputs() gives clang's endless #include_next from the includer's dir to -M, gcc's list is exact", async () => {
    fs.mkdirSync(path.join(proj, "rel"), { recursive: true });
    fs.writeFileSync(path.join(proj, "rel/r.h"), "#include_next \"r.h\"\n");
    fs.writeFileSync(path.join(proj, "d3/r.h"), "");
    fs.writeFileSync(path.join(proj, "rel.c"), "#include \"rel/r.h\"\n");
    assert.match((await fallback("clang", ["-Id3", "-c", "rel.c"])).fallback ?? "", /nested depth 200/);
    const r = await both("gcc", ["-Id3", "-c", "rel.c"]);
    assert.deepEqual([r.missing, r.extra], [[], []]);
  });
});

describe("scanDetailed() caches", () => {
  test("scanDetailed() notices a header created in an earlier search dir and a changed header", async () => {
    const dir = fs.mkdtempSync(path.join(proj, "cache-"));
    for (const d of ["a", "b"]) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "b/h.h"), "");
    fs.writeFileSync(path.join(dir, "m.c"), "#include <h.h>\n");
    const old = new Date("2020-01-01T00:00:00Z");
    for (const p of ["a", "b", "b/h.h", "m.c", "."]) fs.utimesSync(path.join(dir, p), old, old);
    const flags = parseFlags(["gcc", "-Ia", "-Ib", "-c", "m.c"], dir);
    const info = await getCompilerInfo(flags, dir, ENV, cacheDir);
    const scan = async () => [...(await inc.scanDetailed(flags, info, dir, ENV)).keys()].filter((f) => f.startsWith(dir));
    assert.deepEqual(await scan(), [path.join(dir, "m.c"), path.join(dir, "b/h.h")]);
    fs.writeFileSync(path.join(dir, "a/h.h"), '#include "extra.h"\n');
    fs.writeFileSync(path.join(dir, "a/extra.h"), "");
    assert.deepEqual(await scan(), [path.join(dir, "m.c"), path.join(dir, "a/h.h"), path.join(dir, "a/extra.h")]);
    fs.writeFileSync(path.join(dir, "a/h.h"), "");
    assert.deepEqual(await scan(), [path.join(dir, "m.c"), path.join(dir, "a/h.h")]);
  });
  test("scanDetailed() re-reads a file changed within its mtime tick while it is recent (racy)", async () => {
    const dir = fs.mkdtempSync(path.join(proj, "racy-"));
    for (const f of ["a.h", "b.h"]) fs.writeFileSync(path.join(dir, f), "");
    fs.writeFileSync(path.join(dir, "m.c"), '#include "h.h"\n');
    fs.writeFileSync(path.join(dir, "h.h"), '#include "a.h"\n');
    const t = new Date();
    fs.utimesSync(path.join(dir, "h.h"), t, t);
    const flags = parseFlags(["gcc", "-c", "m.c"], dir);
    const info = await getCompilerInfo(flags, dir, ENV, cacheDir);
    const scan = async () => [...(await inc.scanDetailed(flags, info, dir, ENV)).keys()].filter((f) => f.startsWith(dir)).map((f) => path.basename(f));
    assert.deepEqual(await scan(), ["m.c", "h.h", "a.h"]);
    fs.writeFileSync(path.join(dir, "h.h"), '#include "b.h"\n'); // same size, same mtime
    fs.utimesSync(path.join(dir, "h.h"), t, t);
    assert.deepEqual(await scan(), ["m.c", "h.h", "b.h"]);
  });
  test("scanDetailed() with lines: the explain origins name includer and line", async () => {
    const flags = parseFlags(["gcc", "-Id1", "-Id2", "-Id3", "-c", "next.c"], proj);
    const info = await getCompilerInfo(flags, proj, ENV, cacheDir);
    const files = await inc.scanDetailed(flags, info, proj, ENV, { lines: true });
    assert.deepEqual(files.get(path.join(proj, "d2/n.h")), { how: "include_next", from: path.join(proj, "d1/n.h"), line: 1 });
    assert.deepEqual(files.get(path.join(proj, "next.c")), { how: "source" });
    await assert.rejects(inc.scanDetailed(parseFlags(["gcc", "-c", "missing.c"], proj), info, proj, ENV), ScanFallback);
  });
});
