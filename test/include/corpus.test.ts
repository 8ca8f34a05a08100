/**
 * The include scanner on every translation unit of real projects (Debian's zlib, lua5.4 as C and as
 * C++, yaml-cpp), with gcc and with clang, against the compiler's own `-M`: the scanner's list must
 * contain every file -M lists (a missing one would be a broken remote compile), must not fall back,
 * and may add only what it adds on purpose — files found by `__has_include` (the remote compiler must
 * see them too; clang's -M lists them, gcc's does not). Extras are printed per project (goal: none).
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
import { prepareCorpus, type CorpusProject } from "./corpus-projects.ts";

const ENV = { ...process.env } as Record<string, string>;
const inc = new IncludeProcessor();
// Fetched while the module loads, not in a before() hook: on a fresh machine the first fetch (apt index
// and three source packages) can outlast bun's hook timeout, which bunfig.toml does not raise.
const corpus: { projects: CorpusProject[]; dir: string } = prepareCorpus();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-corpus-info-"));

after(() => {
  fs.rmSync(corpus.dir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const NAMES = ["zlib", "lua", "lua-c++", "yaml-cpp"];
for (const name of NAMES) {
  describe(`corpus ${name}`, () => {
    for (const which of [0, 1]) {
      test(`scanDetailed() on every ${name} TU with ${which === 0 ? "gcc" : "clang"} lists every file -M lists`, async () => {
        const p = corpus.projects.find((x) => x.name === name)!;
        const cc = p.compilers[which]!;
        const missing: string[] = [];
        const extra: string[] = [];
        const unexplained: string[] = [];
        for (const file of p.files) {
          const flags = parseFlags([cc, ...p.flags, "-c", file, "-o", path.join(os.tmpdir(), "goma-corpus.o")], p.cwd);
          assert.equal(flags.unsupported, undefined);
          const info = await getCompilerInfo(flags, p.cwd, ENV, cacheDir);
          const want = new Set(await discoverInputs(flags, info, p.cwd, ENV));
          let got: Map<string, Origin>;
          try {
            got = await inc.scanDetailed(flags, info, p.cwd, ENV);
          } catch (e) {
            assert.fail(`${cc} ${file}: the scanner fell back: ${(e as Error).message}`);
          }
          for (const f of want) if (!got.has(f)) missing.push(`${file}: ${f}`);
          for (const [f, origin] of got) {
            if (want.has(f)) continue;
            extra.push(`${file}: ${f} (${origin.how})`);
            if (origin.how !== "has_include") unexplained.push(`${file}: ${f} (${origin.how})`);
          }
        }
        console.log(`corpus ${name} ${cc}: ${p.files.length} TUs, ${missing.length} missing, ${extra.length} extra${extra.length ? `: ${extra.slice(0, 5).join(", ")}` : ""}`);
        assert.deepEqual(missing, []);
        assert.deepEqual(unexplained, []);
      });
    }
  });
}
