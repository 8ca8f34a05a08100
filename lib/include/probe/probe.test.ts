import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getCompilerInfo, parseFlags } from "../../compiler/index.ts";
import { ppOptions } from "../pp-options.ts";
import { ProbeCache } from "./probe.ts";
import { newCounters } from "../stats.ts";

const ENV = { ...process.env } as Record<string, string>;
let cacheDir = "";
before(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-probe-info-"));
});
after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
const counters = newCounters();
let probes = new ProbeCache(counters);

async function probeFor(argv: string[], cwd = os.tmpdir()) {
  const flags = parseFlags(argv, cwd);
  const info = await getCompilerInfo(flags, cwd, ENV, cacheDir);
  return probes.get(info, flags.lang, ppOptions(flags.args).probeArgs, flags.infoFlags, cwd, ENV);
}

describe("ppOptions()", () => {
  test("ppOptions() keeps code-generation flags for the probe and takes the preprocessor's own apart", () => {
    const o = ppOptions(["gcc", "-c", "a.c", "-o", "a.o", "-O2", "-g", "-Wall", "-fPIC", "-march=native", "-Iinc", "-I", "x",
      "-iquote", "q", "-isystem", "s", "-idirafter", "a", "-DA=1", "-UB", "-Wp,-DC,-MD,d.d", "-include", "f.h", "-imacros", "m.h",
      "-MD", "-MF", "a.d", "-std=c11", "-x", "c"]);
    assert.deepEqual(o.probeArgs, ["-O2", "-fPIC", "-march=native", "-std=c11"]);
    assert.deepEqual(o.defines, [{ kind: "D", value: "A=1" }, { kind: "U", value: "B" }, { kind: "D", value: "C" }]);
    assert.deepEqual(o.dirs, { quote: ["q"], angle: ["inc", "x"], system: ["s"], after: ["a"] });
    assert.deepEqual([o.includes, o.imacros], [["f.h"], ["m.h"]]);
    assert.equal(o.unsupported, undefined);
  });
  for (const bad of [["-I-"], ["-Xclang", "-foo"], ["-Wp,-I,x"], ["-traditional-cpp"], ["-iprefix", "p"], ["-fdirectives-only"]]) {
    test(`ppOptions() does not model ${bad.join(" ")}`, () => {
      assert.notEqual(ppOptions(["gcc", ...bad, "-c", "a.c"]).unsupported, undefined);
    });
  }
});

describe("ProbeCache.get()", () => {
  test("ProbeCache.get() sees the macros of the code-generation flags (-O2 → __OPTIMIZE__)", async () => {
    assert.equal((await probeFor(["gcc", "-c", "a.c"])).macros.has("__OPTIMIZE__"), false);
    assert.equal((await probeFor(["gcc", "-O2", "-c", "a.c"])).macros.has("__OPTIMIZE__"), true);
    assert.equal((await probeFor(["clang", "-fopenmp", "-c", "a.c"])).macros.has("_OPENMP"), true);
  });
  test("ProbeCache.get() finds gcc's implicit stdc-predef.h, the standard dirs and the builtin operators", async () => {
    const gcc = await probeFor(["gcc", "-c", "a.c"]);
    assert.ok(gcc.preincludes.some((p) => p.endsWith("/stdc-predef.h")), gcc.preincludes.join());
    assert.ok(gcc.std.system.includes("/usr/include"));
    assert.equal(gcc.builtins.get("__has_include"), "has_include");
    assert.equal(gcc.builtins.get("__has_builtin"), "query");
    assert.equal(gcc.builtins.has("__has_feature"), false);
    const clang = await probeFor(["clang", "-c", "a.c"]);
    assert.deepEqual(clang.preincludes, []);
    assert.equal(clang.builtins.get("__has_feature"), "query");
    assert.equal(clang.builtins.get("__FILE_NAME__"), "__FILE_NAME__");
  });
  test("ProbeCache.get() derives the lexical mode from the language standard", async () => {
    assert.deepEqual((await probeFor(["g++", "-std=c++17", "-c", "a.cc"])).mode, { rawStrings: true, digitSeparators: true, trigraphs: false });
    assert.deepEqual((await probeFor(["gcc", "-std=gnu11", "-c", "a.c"])).mode, { rawStrings: true, digitSeparators: false, trigraphs: false });
    assert.deepEqual((await probeFor(["gcc", "-std=c11", "-c", "a.c"])).mode, { rawStrings: false, digitSeparators: false, trigraphs: true });
    assert.deepEqual((await probeFor(["clang", "-std=gnu11", "-c", "a.c"])).mode, { rawStrings: false, digitSeparators: false, trigraphs: false });
    assert.deepEqual((await probeFor(["g++", "-std=c++11", "-c", "a.cc"])).mode, { rawStrings: true, digitSeparators: false, trigraphs: true });
    assert.deepEqual((await probeFor(["clang++", "-std=c++20", "-c", "a.cc"])).mode, { rawStrings: true, digitSeparators: true, trigraphs: false });
    assert.deepEqual((await probeFor(["g++", "-std=c++20", "-trigraphs", "-c", "a.cc"])).mode, { rawStrings: true, digitSeparators: true, trigraphs: true });
  });
  test("ProbeCache.get() shares one probe per compiler and code-generation flags", async () => {
    const a = await probeFor(["gcc", "-O2", "-Ia", "-DX", "-c", "a.c"]);
    const b = await probeFor(["gcc", "-O2", "-Ib", "-c", "b.c", "-o", "b.o"]);
    assert.equal(a, b);
  });
  test("ProbeCache.get() keeps a probe per cwd only when an argument names a relative path (-fsanitize-ignorelist=, -isysroot dir)", async () => {
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), "goma-probe-cwd-")));
    try {
      for (const d of dirs) {
        fs.writeFileSync(path.join(d, "ign.txt"), "fun:foo\n");
        fs.mkdirSync(path.join(d, "sr"));
      }
      const ignore = ["clang", "-fsanitize=address", "-fsanitize-ignorelist=ign.txt", "-c", "a.c"];
      const [a, b] = [await probeFor(ignore, dirs[0]), await probeFor(ignore, dirs[1])];
      assert.notEqual(a, b, "the ignorelist is read relative to each compile's cwd");
      assert.ok(a.extraDeps.includes("ign.txt"), a.extraDeps.join());
      const sysroot = ["gcc", "-isysroot", "sr", "-c", "a.c"];
      assert.notEqual(await probeFor(sysroot, dirs[0]), await probeFor(sysroot, dirs[1]), "a separate relative -isysroot");
      const plain = ["clang", "-fsanitize=address", "-fsanitize-ignorelist=/dev/null", "-c", "a.c"];
      assert.equal(await probeFor(plain, dirs[0]), await probeFor(plain, dirs[1]), "absolute paths: one probe");
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
  test("ProbeCache.answer() reads values, not just truth, and marks operands the compiler rejects", async () => {
    const p = await probeFor(["g++", "-std=c++17", "-c", "a.cc"]);
    const before = counters.probes;
    await probes.answer(p, ["__has_cpp_attribute(nodiscard)", "__has_builtin(__builtin_not_a_builtin_xyz)", "__has_cpp_attribute(1)"], os.tmpdir());
    assert.equal(counters.probes, before + 1);
    assert.equal(p.answers.get("__has_cpp_attribute(nodiscard)"), 201907);
    assert.equal(p.answers.get("__has_builtin(__builtin_not_a_builtin_xyz)"), 0);
    assert.ok(Number.isNaN(p.answers.get("__has_cpp_attribute(1)")));
    assert.equal(p.answers.get("__has_builtin(__builtin_expect)"), 1, "answered up front from the seed list");
  });
});

describe("ProbeCache with a cacheDir", () => {
  test("ProbeCache with a cacheDir: a new process reuses the stored probe until something it depends on changes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-probe-disk-"));
    const memoryOnly = probes;
    try {
      probes = new ProbeCache(counters, dir);
      const argv = ["gcc", "-O1", "-fno-common", "-c", "a.c"];
      const first = await probeFor(argv);
      const stats = () => [counters.probes, counters.probeCacheHits];
      const [runs, hits] = stats();
      probes = new ProbeCache(counters, dir); // as in a new process
      const again = await probeFor(argv);
      assert.deepEqual(stats(), [runs, hits! + 1]);
      assert.deepEqual([...again.macros.keys()], [...first.macros.keys()]);
      assert.deepEqual([again.std, again.preincludes, [...again.answers], again.mode], [first.std, first.preincludes, [...first.answers], first.mode]);
      const [file] = fs.readdirSync(dir);
      const stored = JSON.parse(fs.readFileSync(path.join(dir, file!), "utf8"));
      assert.ok(stored.stamps.some((s: { path: string; exists: boolean }) => s.path === "/usr/include"));
      assert.ok(stored.stamps.some((s: { exists: boolean }) => !s.exists), "the ignored nonexistent dirs are stamped too");
      stored.stamps[0].mtimeMs += 1; // say the compiler was reinstalled
      fs.writeFileSync(path.join(dir, file!), JSON.stringify(stored));
      probes = new ProbeCache(counters, dir);
      await probeFor(argv);
      assert.deepEqual(stats(), [runs! + 1, hits! + 1]);
    } finally {
      probes = memoryOnly;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
