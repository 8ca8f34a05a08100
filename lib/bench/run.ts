/**
 * `goma bench`: builds each project cold and warm with each tool, round by round (the tools' order
 * rotates each round, so drifting machine load hits all of them alike), then prints the tables and
 * writes `--json` / `--svg`. In the first round it also times warm hits of one file per project,
 * builds a second copy at another path with the warm cache (cross-checkout hits) and reads goma's
 * stage times per task from the proxy's /api/tasks.
 *
 * Everything lives in one temporary directory (trees, caches, daemons' sockets and logs), removed at
 * the end; every daemon started is stopped, also on failure, Ctrl-C or SIGTERM.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { BenchError, parseBenchArgs, type BenchOptions } from "./args.ts";
import { createProgress, type Progress } from "./progress.ts";
import { checkout, resolveProjects, type Checkout, type Project } from "./projects.ts";
import { killRunning, processCpuSeconds, processMemoryMiB, runTimed } from "./proc.ts";
import {
  formatTables, median, p90, round, stageMedians, summarize,
  type BenchReport, type BuildRecord, type HitLatency, type ProjectReport,
} from "./report.ts";
import { renderSvg } from "./svg.ts";
import { cleanEnv, openTool, type GomaTask, type Tool } from "./tools.ts";
import { selfCommand } from "../util/cli-args.ts";
import { VERSION } from "../util/version.ts";

/**
 * Runs `goma bench` with the words after `bench`; prints tables on stdout, progress and errors on
 * stderr.
 * @returns the exit status: 0, 1 (a build or a daemon failed), 2 (bad command line), 130/143 (signal).
 */
export async function benchMain(raw: string[]): Promise<number> {
  let opts: BenchOptions;
  let projects: Project[];
  try {
    opts = parseBenchArgs(raw);
    for (const out of [opts.json, opts.svg]) {
      if (out && !isDir(dirname(resolve(out)))) throw new BenchError(`${out}: no such directory ${dirname(resolve(out))}`);
    }
    projects = resolveProjects(opts.projects, process.cwd(), process.execPath);
  } catch (e) {
    return fail(e);
  }
  const dir = mkdtempSync(join(tmpdir(), "goma-bench-"));
  const tools: Tool[] = [];
  let progress: Progress | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    progress?.stop();
    killRunning();
    for (const t of tools) await t.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\ngoma bench: ${sig}: stopping the daemons and removing ${dir}\n`);
    void cleanup().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const report = await bench(opts, projects, dir, tools, (p) => (progress = p));
    await cleanup();
    process.stdout.write(formatTables(report));
    if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 1) + "\n");
    if (opts.svg) writeFileSync(opts.svg, renderSvg(report));
    return 0;
  } catch (e) {
    await cleanup();
    return fail(e);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function fail(e: unknown): number {
  if (e instanceof BenchError) {
    process.stderr.write(`goma bench: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`goma bench: ${(e as Error)?.message ?? String(e)}\n`);
  return 1;
}

async function bench(opts: BenchOptions, projects: Project[], dir: string, tools: Tool[], setProgress: (p: Progress) => void): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAvgStart = loadavg().map((x) => round(x, 2));
  const ctx = { baseEnv: cleanEnv(process.env), dir: join(dir, "tools"), self: selfCommand() };
  const toolInfo: BenchReport["tools"] = {};
  const missingNotes: string[] = [];
  for (const name of opts.tools) {
    const t = await openTool(name, ctx);
    if ("missing" in t) {
      toolInfo[name] = { available: false, missing: t.missing };
      missingNotes.push(t.missing);
    } else {
      toolInfo[name] = { available: true, version: t.version };
      tools.push(t);
    }
  }
  const peers = tools.filter((t) => t.name !== "local").length;
  const steps = projects.length * (opts.rounds * (1 + 2 * peers) + peers + tools.length);
  const progress = await createProgress(steps);
  setProgress(progress);
  for (const n of missingNotes) progress.note(n);

  const rss: BenchReport["rssMiB"] = {};
  const reports: ProjectReport[] = projects.map((p) => ({
    name: p.name, source: p.source, recipe: p.recipe, builds: [], summary: {}, crossCheckout: {},
  }));
  const gomaTasks = new Map<string, { miss: GomaTask[]; hit: GomaTask[]; clientMs: number[]; includeFallbacks: number }>();
  const checkouts = new Map<string, Checkout>();
  const logs = join(dir, "logs");
  spawnSync("mkdir", ["-p", logs]);

  for (let round_ = 1; round_ <= opts.rounds; round_++) {
    // Rotate the order each round; local stays in the rotation.
    const order = tools.map((_, i) => tools[(i + round_ - 1) % tools.length]!);
    for (const [pi, project] of projects.entries()) {
      const rep = reports[pi]!;
      if (project.objects) rep.units = project.objects.units(project.source).length;
      for (const tool of order) {
        const key = `${tool.name}/${project.name}`;
        let co = checkouts.get(key);
        const label = (phase: string) => `${project.name} ${tool.name} ${phase}${opts.rounds > 1 ? ` (round ${round_})` : ""}`;
        progress.begin(label(tool.name === "local" ? "build" : "cold"));
        await tool.startCold();
        if (!co) {
          co = checkout(project, join(dir, "w", tool.name, project.name), tool.wrap, opts.jobs, tool.env, { prefixMap: opts.prefixMap });
          checkouts.set(key, co);
        }
        const measure = async (phase: BuildRecord["phase"], c: Checkout) => {
          const b = await build(tool, c, phase, { project: project.name, round: round_, log: join(logs, `${key.replace("/", "-")}-${phase}-${round_}.log`) });
          rep.builds.push(b.record);
          progress.done(`${b.record.wallS.toFixed(2)} s${b.record.counters ? `, ${b.record.counters.hits}/${b.record.counters.compiles} hits` : ""}`);
          return b;
        };
        const cold = await measure("cold", co);
        if (tool.name === "goma") {
          const g = gomaTasks.get(project.name) ?? { miss: [], hit: [], clientMs: [], includeFallbacks: 0 };
          gomaTasks.set(project.name, g);
          g.miss.push(...cold.tasks.filter((t) => t.outcome === "remote"));
          g.includeFallbacks += cold.tasks.filter((t) => t.includeFallback).length;
          const remote = cold.record.counters?.misses ?? 0;
          if (remote > 0) g.clientMs.push(((cold.record.buildCpuS + (cold.record.daemonCpuS.proxy ?? 0)) / remote) * 1000);
        }
        if (tool.name !== "local") {
          progress.begin(label("warm"));
          const warm = await measure("warm", co);
          if (tool.name === "goma") {
            const g = gomaTasks.get(project.name)!;
            g.hit.push(...warm.tasks.filter((t) => t.outcome === "cacheHit"));
            g.includeFallbacks += warm.tasks.filter((t) => t.includeFallback).length;
          }
        }
        if (round_ === 1) {
          if (tool.name !== "local") {
            progress.begin(`${project.name} ${tool.name} second checkout`);
            const co2 = checkout(project, join(dir, "x", "checkout2", tool.name, project.name), tool.wrap, opts.jobs, tool.env, { prefixMap: opts.prefixMap });
            const b = await measure("checkout2", co2);
            rep.crossCheckout[tool.name] = { hits: b.record.counters?.hits ?? 0, compiles: b.record.counters?.compiles ?? 0 };
          }
          progress.begin(`${project.name} ${tool.name} one file's warm hit`);
          if (co.hitArgv) {
            const h = await hitLatency(tool, co, tool.name === "local" ? Math.min(3, opts.hitRuns) : opts.hitRuns);
            rep.hitLatency ??= { file: project.objects!.hitUnit, tools: {} };
            rep.hitLatency.tools[tool.name] = h;
            progress.done(`${h.medianMs.toFixed(1)} ms`);
          } else {
            progress.done("(no single-file compile for this recipe)");
          }
        }
        for (const d of tool.daemons()) {
          const m = processMemoryMiB(d.pid);
          if (m) rss[d.role] = round(Math.max(rss[d.role] ?? 0, m.hwm), 1);
        }
        await tool.stop();
      }
    }
  }
  progress.stop();
  for (const [pi, rep] of reports.entries()) {
    rep.summary = summarize(rep.builds, tools.map((t) => t.name));
    const g = gomaTasks.get(projects[pi]!.name);
    if (g) {
      rep.goma = {
        stagesMissMs: stageMedians(g.miss), stagesHitMs: stageMedians(g.hit), misses: g.miss.length, hits: g.hit.length,
        includeFallbacks: g.includeFallbacks,
        ...(g.clientMs.length ? { clientCpuPerRemoteMs: round(median(g.clientMs), 2) } : {}),
      };
    }
  }
  return {
    schema: "goma-bench/1",
    goma: VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cores: availableParallelism(), memGiB: round(totalmem() / 2 ** 30, 1), kernel: release(),
      loadAvgStart, loadAvgEnd: loadavg().map((x) => round(x, 2)),
    },
    options: {
      projects: projects.map((p) => p.name), tools: opts.tools, rounds: opts.rounds, jobs: opts.jobs, hitRuns: opts.hitRuns,
      prefixMap: opts.prefixMap,
    },
    tools: toolInfo,
    projects: reports,
    rssMiB: rss,
  };
}

/** One timed build of `co` with `tool`. @throws BenchError (exit 1) when the build fails. */
async function build(
  tool: Tool, co: Checkout, phase: BuildRecord["phase"], o: { project: string; round: number; log: string },
): Promise<{ record: BuildRecord; tasks: GomaTask[] }> {
  co.prepare();
  await tool.resetCounters();
  const daemons = tool.daemons();
  const before = daemons.map((d) => processCpuSeconds(d.pid) ?? 0);
  const load1 = round(loadavg()[0]!, 2);
  const r = await runTimed(co.script, { cwd: co.root, env: tool.env(), logPath: o.log });
  const after = daemons.map((d) => processCpuSeconds(d.pid) ?? 0);
  if (r.code !== 0) {
    const tail = spawnSync("tail", ["-n", "1", o.log], { encoding: "utf8" }).stdout.trim();
    throw new BenchError(`${o.project}: the ${tool.name} ${phase} build failed (exit ${r.code}): ${tail}`, 1);
  }
  const counters = await tool.counters();
  const tasks = (await tool.tasks?.()) ?? [];
  const daemonCpuS: Record<string, number> = {};
  daemons.forEach((d, i) => (daemonCpuS[d.role] = round(after[i]! - before[i]!)));
  const buildCpuS = r.userS + r.sysS;
  const cpuS = buildCpuS + Object.values(daemonCpuS).reduce((s, v) => s + v, 0);
  return {
    record: {
      project: o.project, tool: tool.name, round: o.round, phase, wallS: round(r.wallS), load1, cpuS: round(cpuS), buildCpuS: round(buildCpuS),
      daemonCpuS, ...(counters ? { counters } : {}),
    },
    tasks,
  };
}

/** Times `runs` runs of the single-file compile of `co` (a warm hit for the caching tools). */
async function hitLatency(tool: Tool, co: Checkout, runs: number): Promise<HitLatency> {
  const argv = co.hitArgv!;
  const env = tool.env();
  // Once untimed, so that every timed run is a hit even if the build's entry was keyed differently.
  spawnSync(argv[0]!, argv.slice(1), { cwd: co.root, env, stdio: "ignore" });
  await tool.resetCounters();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: co.root, env, stdio: "ignore" });
    ms.push(performance.now() - t0);
    if (r.status !== 0) throw new BenchError(`the ${tool.name} compile of ${argv.at(-3)} failed (exit ${r.status})`, 1);
  }
  const tasks = (await tool.tasks?.()) ?? [];
  return {
    runs, medianMs: round(median(ms), 2), p90Ms: round(p90(ms), 2),
    ...(tool.name === "goma" ? { stagesMs: stageMedians(tasks.filter((t) => t.outcome === "cacheHit")) } : {}),
  };
}
