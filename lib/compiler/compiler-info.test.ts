import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { getCompilerInfo } from "./compiler-info.ts";
import { parseFlags } from "./parse-flags.ts";
import type { CompilerInfo } from "./types.ts";

const ENV = { ...process.env } as Record<string, string>;
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const run = (argv: string[]) =>
  execFileSync(argv[0]!, argv.slice(1), { env: { ...ENV, LC_ALL: "C" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const runStderr = (argv: string[]) =>
  spawnSync(argv[0]!, argv.slice(1), { env: { ...ENV, LC_ALL: "C" }, encoding: "utf8" }).stderr;

/** The `#include <...>` list as `<cc> -x <lang> -E -v` prints it, parsed independently of the code under test. */
function expectedSystemDirs(cc: string, lang: string, extra: string[] = []): string[] {
  const err = runStderr([cc, ...extra, "-x", lang, "-E", "-v", "/dev/null", "-o", "/dev/null"]);
  const block = err.split("#include <...> search starts here:\n")[1]!.split("End of search list.")[0]!;
  return block.split("\n").filter((l) => l.startsWith(" ")).map((l) => path.resolve(l.trim()));
}

function assertToolchainValid(info: CompilerInfo): void {
  const paths = info.toolchain.map((t) => t.path);
  assert.equal(new Set(paths).size, paths.length, "no duplicate toolchain entries");
  for (const t of info.toolchain) {
    assert.ok(path.isAbsolute(t.path), t.path);
    if (t.symlinkTarget !== undefined) {
      assert.equal(fs.readlinkSync(t.path), t.symlinkTarget);
      assert.deepEqual([t.hash, t.size], ["", 0]);
    } else {
      assert.equal(t.hash, sha256(t.path), t.path);
      assert.equal(t.size, fs.statSync(t.path).size);
      // Executables are; the shared libraries they load (libLLVM, libmpfr …) need not be.
      if (!/\.so(\.\d+)*$/.test(t.path)) assert.equal(t.isExecutable, true, t.path);
    }
  }
  assert.ok(paths.includes(info.realPath));
  for (const s of info.subprograms) assert.ok(paths.includes(s.path), `subprogram ${s.path} in toolchain`);
}

let cacheDir = "";
before(() => { cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-info-")); });
after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const COMPILERS: { argv0: string; src: string; family: "gcc" | "clang"; lang: "c" | "c++"; name: string }[] = [
  { argv0: "gcc", src: "a.c", family: "gcc", lang: "c", name: "gcc" },
  { argv0: "g++", src: "a.cc", family: "gcc", lang: "c++", name: "g++" },
  { argv0: "clang", src: "a.c", family: "clang", lang: "c", name: "clang" },
  { argv0: "clang++", src: "a.cc", family: "clang", lang: "c++", name: "clang++" },
];

describe("getCompilerInfo() on the installed compilers", () => {
  for (const c of COMPILERS) {
    test(`getCompilerInfo() describes ${c.argv0} (${c.lang})`, async () => {
      const flags = parseFlags([c.argv0, "-c", c.src], "/tmp");
      const info = await getCompilerInfo(flags, "/tmp", ENV, cacheDir);
      const localPath = `/usr/bin/${c.argv0}`;
      assert.equal(info.localPath, localPath);
      assert.equal(info.realPath, fs.realpathSync(localPath));
      assert.deepEqual([info.name, info.family, info.lang], [c.name, c.family, c.lang]);
      const firstLine = run([localPath, "--version"]).split("\n")[0]!.trim();
      assert.equal(info.version, `${run([localPath, "-dumpversion"]).trim()}[${firstLine}]`);
      assert.equal(info.target, run([localPath, "-dumpmachine"]).trim());
      assert.deepEqual(info.systemIncludePaths, expectedSystemDirs(localPath, c.lang));
      assert.deepEqual(info.quoteIncludePaths, []);
      assert.equal(info.hash, sha256(info.realPath));
      assert.equal(info.size, fs.statSync(info.realPath).size);
      assert.equal(info.predefinedMacros, run([localPath, "-x", c.lang, "-dM", "-E", "/dev/null"]));
      assert.match(info.predefinedMacros, c.lang === "c++" ? /#define __cplusplus / : /#define __STDC_VERSION__ /);
      // localPath first, as a symlink entry, then the rest of its chain.
      assert.deepEqual(info.toolchain[0], {
        path: localPath, hash: "", size: 0, isExecutable: false, symlinkTarget: fs.readlinkSync(localPath),
      });
      assertToolchainValid(info);
    });
  }

  test("getCompilerInfo() lists gcc's cc1 and as, with their hashes, and their symlink chains", async () => {
    for (const [argv0, src, cc1] of [["gcc", "a.c", "cc1"], ["g++", "a.cc", "cc1plus"]] as const) {
      const info = await getCompilerInfo(parseFlags([argv0, "-c", src], "/tmp"), "/tmp", ENV, cacheDir);
      const cc1Path = run(["/usr/bin/gcc", `-print-prog-name=${cc1}`]).trim();
      const asPath = run(["sh", "-c", "command -v as"]).trim();
      assert.deepEqual(info.subprograms.map((s) => s.path), [cc1Path, asPath]);
      for (const s of info.subprograms) {
        assert.ok(fs.existsSync(s.path), s.path);
        assert.equal(s.hash, sha256(s.path));
        assert.equal(s.size, fs.statSync(s.path).size);
      }
      const executables = [...chainOf(`/usr/bin/${argv0}`), ...chainOf(cc1Path), ...chainOf(asPath)];
      const paths = info.toolchain.map((t) => t.path);
      assert.deepEqual(paths.slice(0, executables.length), executables);
      // then the shared libraries the driver, cc1 and as load (ldd), e.g. cc1's libmpfr
      const libs = paths.slice(executables.length);
      for (const l of libs) assert.match(l, /\.so(\.\d+)*$/);
      assert.ok(libs.some((l) => /libmpfr\.so/.test(l)), libs.join(" "));
    }
  });

  test("getCompilerInfo() lists no subprograms for clang, and as with -fno-integrated-as", async () => {
    const plain = await getCompilerInfo(parseFlags(["clang", "-c", "a.c"], "/tmp"), "/tmp", ENV, cacheDir);
    assert.deepEqual(plain.subprograms, []);
    const noIas = await getCompilerInfo(parseFlags(["clang", "-c", "a.c", "-fno-integrated-as"], "/tmp"), "/tmp", ENV, cacheDir);
    const asPath = run(["sh", "-c", "command -v as"]).trim();
    assert.deepEqual(noIas.subprograms, [{ path: asPath, hash: sha256(asPath), size: fs.statSync(asPath).size }]);
    assertToolchainValid(noIas);
  });

  test("getCompilerInfo() passes info flags to the probes", async () => {
    const info = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c", "-std=c11", "-m32"], "/tmp"), "/tmp", ENV, cacheDir);
    assert.match(info.predefinedMacros, /#define __STDC_VERSION__ 201112L\n/);
    assert.match(info.predefinedMacros, /#define __i386__ 1\n/);
    const target = await getCompilerInfo(parseFlags(["clang", "-c", "a.c", "--target=aarch64-linux-gnu"], "/tmp"), "/tmp", ENV, cacheDir);
    assert.equal(target.target, "aarch64-unknown-linux-gnu");
    const nostd = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c", "-nostdinc"], "/tmp"), "/tmp", ENV, cacheDir);
    assert.deepEqual(nostd.systemIncludePaths, expectedSystemDirs("/usr/bin/gcc", "c", ["-nostdinc"]));
    assert.deepEqual(nostd.systemIncludePaths, []);
  });
});

/** The symlink chain of `file` and its real file, as paths. */
function chainOf(file: string): string[] {
  const out: string[] = [];
  let cur = file;
  while (fs.lstatSync(cur).isSymbolicLink()) {
    out.push(cur);
    cur = path.resolve(path.dirname(cur), fs.readlinkSync(cur));
  }
  out.push(fs.realpathSync(file));
  return out;
}

describe("getCompilerInfo() errors and lookup", () => {
  let dir = "";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-find-"));
    for (const d of ["empty", "fake", "junk", "failing", "cwd/bin"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.symlinkSync(process.execPath, path.join(dir, "fake", "gcc")); // a masquerading goma-like binary
    fs.writeFileSync(path.join(dir, "junk", "gcc"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "failing", "gcc"), "#!/bin/sh\necho 'gcc: fatal error: broken' >&2\nexit 1\n", { mode: 0o755 });
    fs.symlinkSync("/usr/bin/gcc", path.join(dir, "cwd", "bin", "gcc"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flags = parseFlags(["gcc", "-c", "a.c"], "/tmp");
  const envWith = (p: string) => ({ ...ENV, PATH: p });

  test("getCompilerInfo() throws NotFound when the compiler is not on PATH", async () => {
    await assert.rejects(getCompilerInfo(flags, "/tmp", envWith(path.join(dir, "empty")), cacheDir),
      (e: unknown) => e instanceof GomaError && e.code === Code.NotFound && /Failed to find the compiler "gcc"/.test(e.message));
    await assert.rejects(getCompilerInfo(parseFlags(["./nope/gcc", "-c", "a.c"], dir), dir, ENV, cacheDir),
      (e: unknown) => e instanceof GomaError && e.code === Code.NotFound);
  });

  test("getCompilerInfo() skips goma itself on PATH", async () => {
    const info = await getCompilerInfo(flags, "/tmp", envWith(`${path.join(dir, "fake")}:/usr/bin`), cacheDir);
    assert.equal(info.localPath, "/usr/bin/gcc");
  });

  test("getCompilerInfo() finds a cwd-relative compiler without resolving it", async () => {
    const info = await getCompilerInfo(parseFlags(["bin/gcc", "-c", "a.c"], path.join(dir, "cwd")), path.join(dir, "cwd"), ENV, cacheDir);
    assert.equal(info.localPath, path.join(dir, "cwd", "bin", "gcc"));
    assert.equal(info.realPath, fs.realpathSync("/usr/bin/gcc"));
    assert.deepEqual(info.toolchain.slice(0, 2).map((t) => t.path), [path.join(dir, "cwd", "bin", "gcc"), "/usr/bin/gcc"]);
  });

  test("getCompilerInfo() throws FailedPrecondition when the compiler does not answer like gcc", async () => {
    await assert.rejects(getCompilerInfo(flags, "/tmp", envWith(path.join(dir, "junk")), cacheDir), (e: unknown) =>
      e instanceof GomaError && e.code === Code.FailedPrecondition && /does not answer like gcc or clang/.test(e.message));
    await assert.rejects(getCompilerInfo(flags, "/tmp", envWith(path.join(dir, "failing")), cacheDir), (e: unknown) =>
      e instanceof GomaError && e.code === Code.FailedPrecondition && /exited with code 1: gcc: fatal error: broken/.test(e.message));
  });
});
