import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compilerInfoKey, getCompilerInfo } from "./compiler-info.ts";
import { cacheFileOf, clearMemoryCache } from "./info-cache.ts";
import { parseFlags } from "./parse-flags.ts";

const ENV = { ...process.env } as Record<string, string>;
const CWD = "/tmp";

/** The JSON files in `<cacheDir>/compiler_info`, sorted. */
function cacheFiles(cacheDir: string): string[] {
  const dir = path.join(cacheDir, "compiler_info");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => path.join(dir, f)) : [];
}
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const writeJson = (file: string, v: unknown) => fs.writeFileSync(file, JSON.stringify(v));

describe("getCompilerInfo() disk cache", () => {
  let cacheDir = "";
  let binDir = "";
  beforeEach(() => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-cache-"));
    clearMemoryCache();
  });
  afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
  before(() => {
    // A private gcc driver whose mtime the test may change: a copy, next to a lib/ that points at the
    // system's, so the driver finds cc1 and its headers the way it does from /usr/bin.
    binDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-gcc-"));
    fs.mkdirSync(path.join(binDir, "bin"));
    fs.copyFileSync(fs.realpathSync("/usr/bin/gcc"), path.join(binDir, "bin", "gcc"));
    fs.chmodSync(path.join(binDir, "bin", "gcc"), 0o755);
    fs.symlinkSync("/usr/lib", path.join(binDir, "lib"));
  });
  after(() => fs.rmSync(binDir, { recursive: true, force: true }));

  test("getCompilerInfo() writes one cache file, named by the key, holding the info", async () => {
    const flags = parseFlags(["gcc", "-c", "a.c"], CWD);
    const info = await getCompilerInfo(flags, CWD, ENV, cacheDir);
    const files = cacheFiles(cacheDir);
    assert.equal(files.length, 1);
    const st = fs.statSync(info.realPath);
    const key = compilerInfoKey(flags, "/usr/bin/gcc", { path: info.realPath, size: st.size, mtimeMs: st.mtimeMs }, CWD, ENV);
    assert.equal(files[0], cacheFileOf(cacheDir, key));
    const stored = readJson(files[0]!);
    assert.equal(stored.key, key);
    assert.deepEqual(stored.info, info);
    assert.equal(fs.readdirSync(path.join(cacheDir, "compiler_info")).length, 1, "no temp files left behind");
  });

  test("getCompilerInfo() reads the disk cache on the next call (a fresh proxy)", async () => {
    const flags = parseFlags(["gcc", "-c", "a.c"], CWD);
    await getCompilerInfo(flags, CWD, ENV, cacheDir);
    const [file] = cacheFiles(cacheDir);
    const stored = readJson(file!);
    stored.info.version = "from-disk";
    writeJson(file!, stored);
    clearMemoryCache();
    const again = await getCompilerInfo(flags, CWD, ENV, cacheDir);
    assert.equal(again.version, "from-disk", "the answer came from the file, not from a new probe");
    assert.deepEqual(cacheFiles(cacheDir), [file]);
  });

  test("getCompilerInfo() uses a new entry when the key changes", async () => {
    const plain = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c"], CWD), CWD, ENV, cacheDir);
    const c11 = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c", "-std=c11"], CWD), CWD, ENV, cacheDir);
    const cxx = await getCompilerInfo(parseFlags(["gcc", "-c", "a.cc"], CWD), CWD, ENV, cacheDir);
    const cpath = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c"], CWD), CWD, { ...ENV, CPATH: cacheDir }, cacheDir);
    assert.equal(cacheFiles(cacheDir).length, 4);
    assert.notEqual(plain.predefinedMacros, c11.predefinedMacros);
    assert.equal(cxx.lang, "c++");
    assert.equal(cxx.subprograms[0]!.path.endsWith("/cc1plus"), true);
    assert.equal(cpath.systemIncludePaths[0], cacheDir, "CPATH is searched first, and keys the cache");
  });

  test("getCompilerInfo() re-probes a compiler whose mtime changed", async () => {
    const env = { ...ENV, PATH: `${path.join(binDir, "bin")}:/usr/bin` };
    const flags = parseFlags(["gcc", "-c", "a.c"], CWD);
    const first = await getCompilerInfo(flags, CWD, env, cacheDir);
    assert.equal(first.localPath, path.join(binDir, "bin", "gcc"));
    const [oldFile] = cacheFiles(cacheDir);
    const stored = readJson(oldFile!);
    stored.info.version = "stale";
    writeJson(oldFile!, stored);
    const t = new Date(Date.now() - 86_400_000);
    fs.utimesSync(first.realPath, t, t);
    const second = await getCompilerInfo(flags, CWD, env, cacheDir);
    assert.notEqual(second.version, "stale");
    assert.equal(second.version, first.version);
    assert.equal(cacheFiles(cacheDir).length, 2, "a new key, so a new file");
  });

  test("getCompilerInfo() ignores an entry whose subprogram changed", async () => {
    const flags = parseFlags(["gcc", "-c", "a.c"], CWD);
    const first = await getCompilerInfo(flags, CWD, ENV, cacheDir);
    const [file] = cacheFiles(cacheDir);
    const stored = readJson(file!);
    assert.deepEqual(stored.stamps.map((s: { path: string }) => s.path),
      [first.realPath, ...first.subprograms.map((s) => fs.realpathSync(s.path))]);
    stored.stamps[1].mtimeMs = 1; // as if cc1 had been replaced since
    stored.info.version = "stale";
    writeJson(file!, stored);
    clearMemoryCache();
    const again = await getCompilerInfo(flags, CWD, ENV, cacheDir);
    assert.equal(again.version, first.version);
    assert.notEqual(readJson(file!).stamps[1].mtimeMs, 1, "rewritten with fresh stamps");
  });

  test("getCompilerInfo() ignores and rewrites a corrupt cache file", async () => {
    const flags = parseFlags(["clang", "-c", "a.c"], CWD);
    const first = await getCompilerInfo(flags, CWD, ENV, cacheDir);
    const [file] = cacheFiles(cacheDir);
    for (const junk of ["{not json", "null", JSON.stringify({ format: 1, key: "other", stamps: [], info: first })]) {
      fs.writeFileSync(file!, junk);
      clearMemoryCache();
      assert.deepEqual(await getCompilerInfo(flags, CWD, ENV, cacheDir), first);
      assert.deepEqual(readJson(file!).info, first);
    }
  });

  test("getCompilerInfo() shares one probe between concurrent calls", async () => {
    const flags = parseFlags(["g++", "-c", "a.cc"], CWD);
    const [a, b] = await Promise.all([getCompilerInfo(flags, CWD, ENV, cacheDir), getCompilerInfo(flags, CWD, ENV, cacheDir)]);
    assert.deepEqual(a, b);
    assert.notEqual(a, b, "each caller gets its own copy");
    assert.equal(cacheFiles(cacheDir).length, 1);
  });
});

describe("compilerInfoKey()", () => {
  const real = { path: "/usr/bin/x86_64-linux-gnu-gcc-12", size: 10, mtimeMs: 20 };
  const key = (args: string[], cwd = "/w", env: Record<string, string> = {}) =>
    compilerInfoKey(parseFlags(["gcc", "-c", "a.c", ...args], cwd), "/usr/bin/gcc", real, cwd, env);

  test("compilerInfoKey() joins path, stat, family, lang and info flags", () => {
    assert.equal(key(["-std=c11", "-O2"]), "/usr/bin/gcc\n10\n20\ngcc\nc\n-std=c11");
  });

  test("compilerInfoKey() depends on cwd only when an info flag has a relative path", () => {
    assert.equal(key(["--sysroot=/sr"], "/a"), key(["--sysroot=/sr"], "/b"));
    for (const rel of [["--sysroot=sr"], ["--sysroot", "sr"], ["-isysroot", "sr"], ["-Bbin"], ["-B", "bin"]]) {
      assert.notEqual(key(rel, "/a"), key(rel, "/b"), rel.join(" "));
      assert.match(key(rel, "/a"), /\ncwd=\/a$/);
    }
  });

  test("compilerInfoKey() depends on the include-path environment", () => {
    assert.equal(key([], "/w", { HOME: "/x" }), key([]));
    assert.match(key([], "/w", { CPATH: "/inc", CPLUS_INCLUDE_PATH: "/inc2" }), /\nCPATH=\/inc\nCPLUS_INCLUDE_PATH=\/inc2$/);
  });
});
