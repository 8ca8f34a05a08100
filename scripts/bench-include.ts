/**
 * Benchmark of goma's include scanner (lib/include) against the compilers' own `-M`, per translation
 * unit, on the real projects of test/include/corpus-projects.ts, all in one run:
 *
 *   node_modules/.bin/bun scripts/bench-include.ts [--runs N] [--fresh N] [project…]
 *
 * For every TU it takes the median of N runs (default 7) of:
 * - `gcc -M` / `clang -M`: the compile's own command as the proxy runs it for input discovery
 *   (`depsArgs`, dep file to /dev/null), spawned from this process;
 * - warm: `scanInputs` with its caches filled by an earlier scan of the same TU;
 * - cold: `scanInputs` after dropping every file, directory and lookup cache (the compiler probe,
 *   which is per compiler and code-generation flags and shared by all TUs of a project, kept);
 * - first: everything dropped, the probe included (one `-E -dM -v` run, plus one per round of new
 *   `__has_*` operands) — what the very first compile of a project with new flags pays;
 * - first, probe on disk: the same with the probe read from the disk cache (`probeCacheDir`) — what
 *   the first compile after a proxy restart pays.
 * Then it prints, per project and compiler, the median over TUs of those medians and the ratios to
 * `-M`, and the process's RSS after scanning the whole corpus with warm caches. `--fresh N` also runs
 * N TUs per project in a new process each (JIT cold, probe on disk) and reports the first scan's time.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { depsArgs, getCompilerInfo, parseFlags } from "../lib/compiler/index.ts";
import type { CompilerFlags, CompilerInfo } from "../lib/compiler/types.ts";
import { IncludeProcessor } from "../lib/include/index.ts";
import { prepareCorpus, type CorpusProject } from "../test/include/corpus-projects.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  argv.splice(i, 2);
  return v;
};
const RUNS = opt("--runs", 7);
const FRESH = opt("--fresh", 0);

if (argv[0] === "--child") {
  // one fresh-process measurement: --child probeDir cwd compiler args…
  const [, probeDir, cwd, ...cmd] = argv;
  const inc = new IncludeProcessor({ probeCacheDir: probeDir });
  const env = { ...process.env } as Record<string, string>;
  const flags = parseFlags(cmd, cwd!);
  const info = await getCompilerInfo(flags, cwd!, env, path.dirname(probeDir!)); // the parent's info cache
  const t = performance.now();
  const r = await inc.scanInputs(flags, info, cwd!, env);
  process.stdout.write(JSON.stringify({ ms: performance.now() - t, fallback: r.fallback }));
  process.exit(0);
}

const only = new Set(argv);
const env = { ...process.env } as Record<string, string>;
const infoDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-bench-include-info-"));
const probeDir = path.join(infoDir, "include_probe");
/** The scanner measured (probes in memory only) and one with the probe disk cache (the proxy's setting). */
const inc = new IncludeProcessor();
const incDisk = new IncludeProcessor({ probeCacheDir: probeDir });
const { projects, dir } = prepareCorpus();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row { project: string; compiler: string; tus: number; depsM: number; otherM: number; warm: number; cold: number; first: number; firstDisk: number; fresh?: number }
const rows: Row[] = [];

async function timeScan(on: IncludeProcessor, flags: CompilerFlags, info: CompilerInfo, cwd: string, before: () => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    before();
    const t = performance.now();
    const r = await on.scanInputs(flags, info, cwd, env);
    times.push(performance.now() - t);
    if (r.fallback) throw new Error(`fallback for ${flags.input}: ${r.fallback}`);
  }
  return median(times);
}

function timeDeps(cc: string, flags: CompilerFlags, cwd: string): number {
  const args = depsArgs([cc, ...flags.args.slice(1)], "/dev/null");
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = spawnSync(cc, args, { cwd, env, stdio: "ignore" });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${cc} -M failed for ${flags.input}`);
  }
  return median(times);
}

async function benchProject(p: CorpusProject): Promise<void> {
  const per = p.compilers.map(() => ({ depsM: [] as number[], otherM: [] as number[], warm: [] as number[], cold: [] as number[], first: [] as number[], firstDisk: [] as number[] }));
  for (const file of p.files) {
    for (let c = 0; c < 2; c++) {
      const cc = p.compilers[c]!;
      const other = p.compilers[1 - c]!;
      const flags = parseFlags([cc, ...p.flags, "-c", file, "-o", "/tmp/goma-bench.o"], p.cwd);
      const info = await getCompilerInfo(flags, p.cwd, env, infoDir);
      const acc = per[c]!;
      acc.depsM.push(timeDeps(cc, flags, p.cwd));
      acc.otherM.push(timeDeps(other, flags, p.cwd));
      acc.first.push(await timeScan(inc, flags, info, p.cwd, () => inc.reset()));
      acc.firstDisk.push(await timeScan(incDisk, flags, info, p.cwd, () => incDisk.reset()));
      acc.cold.push(await timeScan(inc, flags, info, p.cwd, () => inc.clearFileCaches()));
      await inc.scanInputs(flags, info, p.cwd, env);
      acc.warm.push(await timeScan(inc, flags, info, p.cwd, () => undefined));
    }
  }
  p.compilers.forEach((cc, c) => {
    const a = per[c]!;
    const row: Row = {
      project: p.name, compiler: cc, tus: p.files.length, depsM: median(a.depsM), otherM: median(a.otherM),
      warm: median(a.warm), cold: median(a.cold), first: median(a.first), firstDisk: median(a.firstDisk),
    };
    if (FRESH > 0) {
      const fresh: number[] = [];
      for (const file of p.files.slice(0, FRESH)) {
        const r = spawnSync(process.execPath, [import.meta.filename, "--child", probeDir, p.cwd, cc, ...p.flags, "-c", file, "-o", "/tmp/goma-bench.o"], { env, encoding: "utf8" });
        fresh.push(JSON.parse(r.stdout).ms);
      }
      row.fresh = median(fresh);
    }
    rows.push(row);
  });
}

Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
try {
  for (const p of projects) if (only.size === 0 || only.has(p.name)) await benchProject(p);
  // RSS after the whole corpus, caches warm: one more warm pass over everything.
  for (const p of projects) {
    if (only.size > 0 && !only.has(p.name)) continue;
    for (const file of p.files) {
      for (const cc of p.compilers) {
        const flags = parseFlags([cc, ...p.flags, "-c", file, "-o", "/tmp/goma-bench.o"], p.cwd);
        await inc.scanInputs(flags, await getCompilerInfo(flags, p.cwd, env, infoDir), p.cwd, env);
      }
    }
  }
  Bun.gc(true);
  const mem = process.memoryUsage();
  const f = (x: number) => x.toFixed(2);
  console.log(`runs per measurement: ${RUNS}; times are medians over TUs of per-TU medians, in ms\n`);
  console.log(`| project | compiler | TUs | own -M | other -M | warm | cold | first | first, probe on disk | warm / own -M | cold / own -M |${FRESH ? " fresh process |" : ""}`);
  console.log(`|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${FRESH ? "---:|" : ""}`);
  for (const r of rows) {
    console.log(`| ${r.project} | ${r.compiler} | ${r.tus} | ${f(r.depsM)} | ${f(r.otherM)} | ${f(r.warm)} | ${f(r.cold)} | ${f(r.first)} | ${f(r.firstDisk)} | ${f(r.warm / r.depsM)} | ${f(r.cold / r.depsM)} |${FRESH ? ` ${f(r.fresh!)} |` : ""}`);
  }
  const mib = (x: number) => `${(x / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\nRSS after scanning the corpus: ${mib(mem.rss)} (before the first scan: ${mib(rssBefore)}; JS heap in use after: ${mib(mem.heapUsed)})`);
  console.log(`scanner counters: ${JSON.stringify(inc.stats())}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(infoDir, { recursive: true, force: true });
}
