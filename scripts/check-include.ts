/**
 * Checks goma's include scanner (lib/include) against the compilers' own `-M` on projects it was not
 * tuned on — Debian's fmtlib, leveldb, libpng1.6 and curl — every translation unit of each project's own
 * CMake build (its compile_commands.json), with gcc and clang and flag variants:
 *
 *   node_modules/.bin/bun scripts/check-include.ts [--max N] [--variants a,b] [--time] [project…]
 *
 * Per project, compiler and variant it reports: TUs, fallbacks by reason (the reason's kind and its
 * message with paths and line numbers cut, so equal causes group), files `-M` lists that the scanner
 * missed (a broken remote compile: must be 0) and files the scanner added beyond `-M` (by origin; only
 * `has_include` ones are expected). `--time` also measures a warm scan against `-M` (median per TU of
 * 3 runs, then the median over TUs). `--max N` keeps the first N distinct sources per project.
 *
 * Sources come from scripts/fetch-sources.sh (.cache/src); each project is configured out of tree with
 * CMake into ${GOMA_CHECK_DIR:-.cache/check-include}/<project> (libpng's generated headers are built
 * with its `genfiles` target). TUs whose `-M` fails with a compiler (a flag variant the project does
 * not compile with) are counted as skipped, not checked.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { depsArgs, discoverInputs, getCompilerInfo, parseFlags } from "../lib/compiler/index.ts";
import { IncludeProcessor, ScanFallback } from "../lib/include/index.ts";
import { CMAKE_PROJECTS, cmakeCommands, fetchCmakeSources, withCompiler } from "../test/include/cmake-projects.ts";

const REPO = path.resolve(import.meta.dirname, "..");
const inc = new IncludeProcessor();
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const flag = (name: string): boolean => {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
};
const MAX = Number(opt("--max") ?? Infinity);
const VARIANTS_ONLY = opt("--variants")?.split(",");
const TIME = flag("--time");
const only = new Set(argv);
const BUILD = path.resolve(process.env.GOMA_CHECK_DIR ?? path.join(REPO, ".cache/check-include"));

/** Flag variants appended to each compile (after the project's own flags, so they override them; [] = its own flags). */
const VARIANTS: Record<"c" | "cxx", string[][]> = {
  cxx: [[], ["-std=c++11"], ["-std=c++17"], ["-std=c++20"], ["-march=x86-64-v3"], ["-std=gnu++17", "-O2"],
    ["-std=c++20", "-march=x86-64-v3"], ["-std=c++2b"], ["-O0", "-fno-exceptions"], ["-fsanitize=address", "-Os"]],
  c: [[], ["-std=c99"], ["-std=c11"], ["-std=gnu17"], ["-march=x86-64-v3"], ["-O2"],
    ["-ansi"], ["-std=c2x"], ["-std=c89", "-march=x86-64-v3"], ["-fsanitize=address", "-Os"]],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** A fallback's message with paths and numbers cut, so one cause is one group. */
const reasonKey = (kind: string, msg: string) =>
  `${kind}: ${msg.replace(/\/[^\s:"'<>]+/g, (m) => path.basename(m)).replace(/:\d+:/g, ":").slice(0, 160)}`;

const env = { ...process.env } as Record<string, string>;
const infoDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-check-include-info-"));
const src = fetchCmakeSources(CMAKE_PROJECTS.filter((p) => only.size === 0 || only.has(p.name)));

let totalMissing = 0;
let totalFallbacks = 0;
let totalChecked = 0;
try {
  for (const p of CMAKE_PROJECTS) {
    if (only.size > 0 && !only.has(p.name)) continue;
    const cmds = cmakeCommands(p, src, path.join(BUILD, p.name), MAX);
    for (const variant of p.cxx ? VARIANTS.cxx : VARIANTS.c) {
      const vname = variant.join(" ") || "own flags";
      if (VARIANTS_ONLY && !VARIANTS_ONLY.includes(vname)) continue;
      for (const family of ["gcc", "clang"] as const) {
        let checked = 0;
        let skipped = 0;
        const fallbacks = new Map<string, string[]>();
        const missing: string[] = [];
        const extra = new Map<string, number>();
        const warm: number[] = [];
        const depsM: number[] = [];
        for (const c of cmds) {
          const cxx = /\.(cc|cpp|cxx|C)$/.test(c.file);
          const cc = family === "gcc" ? (cxx ? "g++" : "gcc") : (cxx ? "clang++" : "clang");
          // A C++ -std variant leaves a project's C files with their own flags.
          const v = cxx ? variant : variant.filter((f) => !/^-std=(c|gnu)\+\+/.test(f));
          const flags = parseFlags(withCompiler(c, cc, path.join(os.tmpdir(), "goma-check.o"), v), c.cwd); // the variant wins
          let want: Set<string>;
          let info;
          try {
            info = await getCompilerInfo(flags, c.cwd, env, infoDir);
            want = new Set(await discoverInputs(flags, info, c.cwd, env));
          } catch {
            skipped++;
            continue;
          }
          checked++;
          try {
            const got = await inc.scanDetailed(flags, info, c.cwd, env);
            for (const f of want) if (!got.has(f)) missing.push(`${path.relative(src[p.pkg]!, c.file)}: ${f}`);
            for (const [f, origin] of got) if (!want.has(f)) extra.set(origin.how, (extra.get(origin.how) ?? 0) + 1);
            if (TIME) {
              const t: number[] = [];
              for (let i = 0; i < 3; i++) {
                const t0 = performance.now();
                await inc.scanInputs(flags, info, c.cwd, env);
                t.push(performance.now() - t0);
              }
              warm.push(median(t));
              const da = depsArgs([cc, ...flags.args.slice(1)], "/dev/null");
              const td: number[] = [];
              for (let i = 0; i < 3; i++) {
                const t0 = performance.now();
                spawnSync(cc, da, { cwd: c.cwd, env, stdio: "ignore" });
                td.push(performance.now() - t0);
              }
              depsM.push(median(td));
            }
          } catch (e) {
            const key = e instanceof ScanFallback ? reasonKey(e.kind, e.message) : reasonKey("internal", String(e));
            const l = fallbacks.get(key) ?? [];
            l.push(path.relative(src[p.pkg]!, c.file));
            fallbacks.set(key, l);
          }
        }
        const nf = [...fallbacks.values()].reduce((s, l) => s + l.length, 0);
        totalMissing += missing.length;
        totalFallbacks += nf;
        totalChecked += checked;
        const ex = [...extra].map(([k, v]) => `${k} ${v}`).join(", ") || "0";
        const tm = TIME ? `, warm scan ${median(warm).toFixed(2)} ms vs -M ${median(depsM).toFixed(2)} ms (${(median(warm) / median(depsM)).toFixed(3)}×)` : "";
        console.log(`${p.name} ${family} [${vname}]: ${checked} TUs (${skipped} skipped: -M fails), ${nf} fallbacks, ${missing.length} missing, extra ${ex}${tm}`);
        for (const [k, l] of fallbacks) console.log(`  ${l.length}× ${k}  (e.g. ${l.slice(0, 3).join(", ")})`);
        for (const m of missing.slice(0, 10)) console.log(`  MISSING ${m}`);
      }
    }
  }
  console.log(`\ntotal: ${totalChecked} compiles checked, ${totalFallbacks} fallbacks, ${totalMissing} missing`);
} finally {
  fs.rmSync(infoDir, { recursive: true, force: true });
}
process.exit(totalMissing > 0 ? 1 : 0);
