/**
 * The include scanner on every translation unit of real CMake projects it was not tuned on — Debian's
 * fmtlib (C++, googletest), leveldb (C++11, gmock and benchmark headers) and libpng1.6 (C) — each
 * configured by its own CMake build into a temporary directory, with gcc and with clang, each TU with
 * its own command: no fallback, nothing -M lists missing, and nothing extra but `__has_include` finds.
 * curl (406 TUs) and the flag variants are checked by scripts/check-include.ts: they would add minutes.
 *
 * The sources are fetched by scripts/fetch-sources.sh (network to Debian's mirrors on first use).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { discoverInputs, getCompilerInfo, parseFlags } from "../../lib/compiler/index.ts";
import { IncludeProcessor, type Origin } from "../../lib/include/index.ts";
import { CMAKE_PROJECTS, cmakeCommands, fetchCmakeSources, withCompiler } from "./cmake-projects.ts";

const ENV = { ...process.env } as Record<string, string>;
const inc = new IncludeProcessor();
const NAMES = ["fmtlib", "leveldb", "libpng"];
const projects = CMAKE_PROJECTS.filter((p) => NAMES.includes(p.name));
// Fetched while the module loads (see corpus.test.ts: a first fetch can outlast bun's hook timeout).
const src = fetchCmakeSources(projects);
const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-corpus-cmake-"));
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-corpus-cmake-info-"));

after(() => {
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

for (const p of projects) {
  describe(`corpus ${p.name} (its CMake build)`, () => {
    for (const family of ["gcc", "clang"] as const) {
      test(`scanDetailed() on every ${p.name} TU with ${family} lists every file -M lists, without falling back`, async () => {
        const cmds = cmakeCommands(p, src, path.join(buildDir, p.name));
        const missing: string[] = [];
        const unexplained: string[] = [];
        let extra = 0;
        for (const c of cmds) {
          const cxx = /\.(cc|cpp|cxx)$/.test(c.file);
          const cc = family === "gcc" ? (cxx ? "g++" : "gcc") : (cxx ? "clang++" : "clang");
          const flags = parseFlags(withCompiler(c, cc, path.join(os.tmpdir(), "goma-corpus-cmake.o")), c.cwd);
          assert.equal(flags.unsupported, undefined, c.file);
          const info = await getCompilerInfo(flags, c.cwd, ENV, cacheDir);
          const want = new Set(await discoverInputs(flags, info, c.cwd, ENV));
          let got: Map<string, Origin>;
          try {
            got = await inc.scanDetailed(flags, info, c.cwd, ENV);
          } catch (e) {
            assert.fail(`${cc} ${c.file}: the scanner fell back: ${(e as Error).message}`);
          }
          for (const f of want) if (!got.has(f)) missing.push(`${c.file}: ${f}`);
          for (const [f, origin] of got) {
            if (want.has(f)) continue;
            extra++;
            if (origin.how !== "has_include") unexplained.push(`${c.file}: ${f} (${origin.how})`);
          }
        }
        console.log(`corpus ${p.name} ${family}: ${cmds.length} TUs, ${missing.length} missing, ${extra} extra (__has_include)`);
        assert.ok(cmds.length > 20, `${p.name}: only ${cmds.length} TUs configured`);
        assert.deepEqual(missing, []);
        assert.deepEqual(unexplained, []);
      });
    }
  });
}
