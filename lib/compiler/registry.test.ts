import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { COMPILER_TYPES, compilerTypeNamed, compilerTypeOf, includeRulesOf, isCompilerName, unknownCompilerReason } from "./registry.ts";
import { compilerTypeFor } from "./implementations.ts";
import { gccStyleDepFile } from "./gcc-style-names.ts";
import { parseFlags } from "./parse-flags.ts";
/** The fake type lists its own inputs: it is given an include processor it must not need. */
const NO_INCLUDES = { scanInputs: async () => { throw new Error("the fake type used the include processor"); } };
import { normalizeExecReq } from "./normalize.ts";
import { localCacheKey } from "../proxy/local-output-cache.ts";
import { writeFakeCompiler } from "./fake/compiler.ts";
import { parseFakeFlags } from "./fake/index.ts";
import type { IExecReq } from "../goma/proto.ts";
import { isMasqueradeName } from "../cc/masquerade.ts";

describe("the compiler type registry", () => {
  test("every registered type has a whole implementation with the same name and descriptor", async () => {
    for (const d of COMPILER_TYPES) {
      const t = await compilerTypeFor(d.commandName("x"));
      assert.equal(t?.name, d.name, `${d.name}'s command name ${d.commandName("x")} is claimed by ${t?.name}`);
      assert.equal(t.remote, d.remote);
      assert.equal(compilerTypeNamed(d.name), d);
      for (const part of ["parseFlags", "compilerInfo", "scanInputs", "discoverInputs", "normalizer"] as const) {
        assert.equal(typeof t[part], "function", `${d.name}.${part}`);
      }
    }
  });

  const CLAIMS: [string, string | undefined][] = [
    ["gcc", "gcc"], ["g++", "gcc"], ["cc", "gcc"], ["c++", "gcc"], ["/usr/bin/x86_64-linux-gnu-gcc-12", "gcc"],
    ["clang", "clang"], ["clang++-14", "clang"], ["/usr/lib/llvm-14/bin/clang", "clang"], ["x86_64-linux-gnu-clang++", "clang"],
    ["fake-cc", "fake"], ["/opt/t/fake-cc", "fake"],
    ["clang-cl", undefined], ["cl.exe", undefined], ["gcc-ar", undefined], ["ld", undefined], ["sh", undefined], ["goma", undefined],
  ];
  for (const [argv0, name] of CLAIMS) {
    test(`compilerTypeOf(${JSON.stringify(argv0)}) is ${name ?? "no type (an unknown compiler)"}`, async () => {
      assert.equal(compilerTypeOf(argv0)?.name, name);
      assert.equal((await compilerTypeFor(argv0))?.name, name);
      assert.equal(isCompilerName(path.basename(argv0)), name !== undefined);
      // `goma cc` masquerades under exactly the names the registry claims.
      assert.equal(isMasqueradeName(path.basename(argv0)), name !== undefined);
    });
  }

  test("an unknown compiler's reason names it and the registered types, never gcc by default", () => {
    assert.equal(unknownCompilerReason("/opt/bin/icc"), 'unknown compiler "icc": no compiler type claims it (fake, clang, gcc)');
    assert.equal(parseFlags(["icc", "-c", "a.c"], "/").family, "");
  });

  test("commandName() is Goma's CommandSpec.name", () => {
    const names = ["gcc", "g++", "cc", "c++", "x86_64-linux-gnu-g++-12", "clang", "clang++-14", "fake-cc"]
      .map((a) => compilerTypeOf(a)!.commandName(a));
    assert.deepEqual(names, ["gcc", "g++", "gcc", "g++", "g++", "clang", "clang++", "fake-cc"]);
  });

  test("include rules: gcc's libcpp rules, clang's HeaderSearch rules, none for fake", () => {
    assert.deepEqual(includeRulesOf("gcc"), { sysrootRelativeDirs: true, searchPath: "cpp", includeNextFromRelativeStartsAtFirstDir: true, rawStringsInGnuC: true });
    assert.deepEqual(includeRulesOf("clang"), { sysrootRelativeDirs: false, searchPath: "clang", includeNextFromRelativeStartsAtFirstDir: false, rawStringsInGnuC: false });
    assert.equal(includeRulesOf("fake"), undefined);
  });

  test("gcc-style probe: clang's answers only `clang version`, gcc's answers anything; subprograms", () => {
    const clang = compilerTypeNamed("clang")!.gccStyle!;
    const gcc = compilerTypeNamed("gcc")!.gccStyle!;
    assert.equal(clang.answersVersion("Debian clang version 14.0.6\nTarget: x86_64"), true);
    assert.equal(clang.answersVersion("gcc (Debian 12.2.0-14) 12.2.0"), false);
    assert.equal(gcc.answersVersion("gcc (Debian 12.2.0-14) 12.2.0"), true);
    assert.deepEqual(gcc.subprogramNames("c++", []), ["cc1plus", "as"]);
    assert.deepEqual(clang.subprogramNames("c", []), []);
    assert.deepEqual(clang.subprogramNames("c", ["-fno-integrated-as"]), ["as"]);
    assert.equal(compilerTypeNamed("fake")!.gccStyle, undefined);
  });
});

describe("remote policies", () => {
  test("gcc: prefix map first, the worker's argv[0], gcc-style env", () => {
    const r = compilerTypeNamed("gcc")!.remote;
    assert.deepEqual([r.prefixMap, r.keepArgv0], ["first", false]);
    assert.deepEqual(["CPATH", "SOURCE_DATE_EPOCH", "LD_PRELOAD", "HOME"].map(r.forwardsEnv), [true, true, false, false]);
  });
  test("clang: prefix map last, the client's argv[0]", () => {
    const r = compilerTypeNamed("clang")!.remote;
    assert.deepEqual([r.prefixMap, r.keepArgv0], ["last", true]);
    assert.equal(r.forwardsEnv("CPLUS_INCLUDE_PATH"), true);
  });
  test("fake: no prefix map, no env, its -MF", () => {
    const r = compilerTypeNamed("fake")!.remote;
    assert.deepEqual([r.prefixMap, r.keepArgv0, r.forwardsEnv("CPATH")], ["none", false, false]);
    assert.equal(r.depFile(["fake-cc", "-c", "a.c", "-MF", "a.d"], []), "a.d");
    assert.equal(r.depFile(["fake-cc", "-c", "a.c"], []), undefined);
  });

  // The server's light scan must name the dep file the proxy's full parser names.
  const DEP_CASES: string[][] = [
    ["gcc", "-c", "a.c"],
    ["gcc", "-c", "a.c", "-o", "out/a.o", "-MD"],
    ["gcc", "-c", "a.c", "-oout/a.o", "-MMD"],
    ["gcc", "-c", "a.c", "-MD", "-MF", "deps/a.d", "-o", "a.o"],
    ["gcc", "-c", "a.c", "-MD", "-MFdeps/a.d"],
    ["gcc", "-c", "a.c", "-Wp,-MD,x/a.d", "-o", "a.o"],
    ["gcc", "-c", "a.c", "-Wp,-MMD,x/a.d,-DX"],
    ["gcc", "-c", "src/a.c", "-MD"],
    ["gcc", "-c", "a.c", "-o", "obj/.hidden", "-MD"],
    ["gcc", "-c", "a.c", "-o", "obj.dir/a", "-MD"],
    ["clang", "-c", "a.c", "-Xclang", "-MF", "-MD", "-o", "b.o"],
    ["gcc", "-c", "a.c", "-MF", "only.d"],
    ["gcc", "-c", "a.c", "-M", "-MD", "-o", "/abs/a.o"],
  ];
  for (const argv of DEP_CASES) {
    test(`gccStyleDepFile(${argv.slice(1).join(" ")}) agrees with parseFlags`, () => {
      const f = parseFlags(argv, "/src");
      assert.equal(gccStyleDepFile(argv, f.outputs), f.depFile);
    });
  }
});

describe("ExecReqNormalizer", () => {
  const req = (): IExecReq => ({
    commandSpec: { name: "gcc", version: "12[gcc 12]", target: "x86_64-linux-gnu", binaryHash: new TextEncoder().encode("ab"), localCompilerPath: "/usr/bin/gcc", size: 10 },
    arg: ["gcc", "-c", "a.c", "-o", "a.o"], env: ["LANG=C"], cwd: "/src",
    input: [{ filename: "b.h", hashKey: "k2" }, { filename: "a.c", hashKey: "k1", content: { blobType: 1, content: new Uint8Array([1]) } }, { filename: "/usr/bin/gcc", hashKey: "kk" }],
    requesterInfo: { pid: 7, retry: 1 }, cachePolicy: 2, expectedOutputFiles: ["a.o"], toolchainIncluded: true,
    toolchainSpecs: [{ path: "/usr/bin/gcc", hash: "ff", size: 10, isExecutable: true }],
  });
  test("gcc's and clang's keys are the local output cache's keys before the types existed", async () => {
    // Computed with localCacheKey() of lib/proxy/local-output-cache.ts at a49cce8 (before the types).
    const before = "2c73a98d825e5a6497fcbb7f920f26b5f8820cf8f9afe3d772132d68dd474f7f";
    for (const name of ["gcc", "clang", "fake"]) {
      assert.equal(localCacheKey(req(), (await compilerTypeFor(compilerTypeNamed(name)!.commandName("x")))!.normalizer), before, name);
    }
    assert.equal(localCacheKey(req()), before);
  });
  test("the default normalizer drops only what cannot change outputs, and leaves the request alone", () => {
    const r = req();
    const n = normalizeExecReq(r);
    assert.equal(n.requesterInfo, undefined);
    assert.equal(n.cachePolicy, undefined);
    assert.deepEqual(n.input, [{ filename: "/usr/bin/gcc", hashKey: "" }, { filename: "a.c", hashKey: "k1" }, { filename: "b.h", hashKey: "k2" }]);
    assert.deepEqual([n.arg, n.cwd, n.env, n.expectedOutputFiles], [r.arg, r.cwd, r.env, r.expectedOutputFiles]);
    assert.equal(r.input!.length, 3);
    assert.equal(r.requesterInfo!.pid, 7);
  });
});

const fake = (await compilerTypeFor("fake-cc"))!;
describe("the fake type", () => {
  test("parses its flags; anything else is local with a reason", () => {
    const f = parseFakeFlags(["fake-cc", "-c", "src/m.c", "-MF", "m.d"], "/p");
    assert.deepEqual([f.family, f.input, f.output, f.outputs, f.depFile, f.unsupported], ["fake", "src/m.c", "src/m.o", ["src/m.o", "m.d"], "m.d", undefined]);
    assert.match(fake.parseFlags(["fake-cc", "m.c"], "/p").unsupported!, /^no -c/);
    assert.equal(fake.parseFlags(["fake-cc", "-c", "m.c", "-O2"], "/p").unsupported, "unknown flag -O2");
    assert.equal(fake.parseFlags(["fake-cc", "-c", "a.c", "b.c"], "/p").unsupported, "multiple input files: a.c b.c");
  });

  test("its include processor lists exactly the files the fake compiler reads, and its output is deterministic", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-fake-"));
    try {
      const cc = writeFakeCompiler(path.join(dir, "bin"));
      const proj = path.join(dir, "p");
      fs.mkdirSync(path.join(proj, "inc"), { recursive: true });
      fs.writeFileSync(path.join(proj, "m.c"), '#fake-include "inc/a.h"\nbody\n');
      fs.writeFileSync(path.join(proj, "inc/a.h"), '#fake-include "b.h"\n#fake-include "../m.c"\n');
      fs.writeFileSync(path.join(proj, "inc/b.h"), "leaf\n");
      const argv = [cc, "-c", "m.c", "-o", "m.o", "-MF", "m.d"];
      const flags = fake.parseFlags(argv, proj);
      const info = await fake.compilerInfo(flags, proj, { PATH: process.env.PATH ?? "" }, dir);
      assert.deepEqual([info.family, info.name, info.localPath, info.toolchain.map((t) => t.path)], ["fake", "fake-cc", cc, [cc]]);
      const listed = await fake.scanInputs(flags, info, proj, {}, NO_INCLUDES);
      assert.deepEqual(listed, { files: ["m.c", "inc/a.h", "inc/b.h"].map((f) => path.join(proj, f)) });
      const r = spawnSync(cc, argv.slice(1), { cwd: proj, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(proj, "m.d"), "utf8"), "m.o: m.c inc/a.h inc/b.h\n");
      const obj = fs.readFileSync(path.join(proj, "m.o"), "utf8");
      assert.match(obj, /^fake-cc object v1\nargs: -c m\.c -o m\.o -MF m\.d\nm\.c [0-9a-f]{64}\ninc\/a\.h [0-9a-f]{64}\ninc\/b\.h [0-9a-f]{64}\n$/);
      assert.deepEqual(await fake.discoverInputs(flags, info, proj, {}), listed.files);
      fs.rmSync(path.join(proj, "inc/b.h"));
      assert.match((await fake.scanInputs(flags, info, proj, {}, NO_INCLUDES)).fallback!, /^io: fake-cc: inc\/b\.h cannot be read/);
      const failing = spawnSync(cc, ["-c", "fail.c"], { cwd: proj, encoding: "utf8" });
      assert.deepEqual([failing.status, failing.stderr], [1, 'fake-cc: fail.c: failing as asked (the name contains "fail")\n']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
