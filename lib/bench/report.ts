/**
 * `goma bench`'s results: the JSON document ({@link BenchReport}), the medians and ratios computed from
 * the builds, and the tables printed on stdout. Times are seconds unless a field name ends in `Ms`;
 * memory is MiB.
 */
import type { ToolName } from "./args.ts";
import type { Counters } from "./tools.ts";

/** One timed build. */
export interface BuildRecord {
  project: string;
  tool: ToolName;
  /** 1-based. */
  round: number;
  /** cold: empty private cache, daemons fresh; warm: the same tree again; checkout2: a copy at another path, warm cache. */
  phase: "cold" | "warm" | "checkout2";
  wallS: number;
  /** The machine's 1-minute load average when the build started (other users' work shows here). */
  load1: number;
  /** buildCpuS + the daemons' CPU during the build. */
  cpuS: number;
  /** CPU of everything the build ran (make, compilers, `goma cc`, ccache, sccache clients). */
  buildCpuS: number;
  /** CPU of each daemon during the build (goma: proxy, server with the embedded backend's compiles; sccache). */
  daemonCpuS: Record<string, number>;
  /** The tool's counters for this build (not for local). */
  counters?: Counters;
}

/** Medians over rounds of one tool's builds of one phase. */
export interface PhaseSummary {
  wallS: number;
  cpuS: number;
  /** Number of builds the medians are taken over. */
  n: number;
  /** Median hits per build (not for local). */
  hits?: number;
  compiles?: number;
}

/** One tool on one project. */
export interface ToolSummary {
  cold: PhaseSummary;
  /** Absent for local (one build per round is its baseline). */
  warm?: PhaseSummary;
  /** Median wall (cpu) of this tool's phase divided by local's median wall (cpu). */
  ratios: { coldWall: number; coldCpu: number; warmWall?: number; warmCpu?: number };
}

/** Timed warm hits of one file. */
export interface HitLatency {
  runs: number;
  medianMs: number;
  p90Ms: number;
  /** goma: the proxy's median stage times (ms) of these hits. */
  stagesMs?: Record<string, number>;
}

/** goma-specific figures of one project. */
export interface GomaFigures {
  /** Median per-stage times (ms) of the proxy's tasks: misses (remote compiles of cold builds), hits (warm builds). */
  stagesMissMs: Record<string, number>;
  stagesHitMs: Record<string, number>;
  misses: number;
  hits: number;
  /** Compiles of the cold and warm builds whose inputs came from the compiler's -M (the include processor gave up). */
  includeFallbacks: number;
  /** (CPU of the build's processes — `goma cc`, make — plus the proxy's) / remote compiles, median over cold builds. */
  clientCpuPerRemoteMs?: number;
}

/** Everything about one project. */
export interface ProjectReport {
  name: string;
  source: string;
  recipe: string;
  /** Translation units, when known in advance. */
  units?: number;
  builds: BuildRecord[];
  summary: Partial<Record<ToolName, ToolSummary>>;
  /** The file whose warm hit was timed (relative to the tree), and per tool its latency. */
  hitLatency?: { file: string; tools: Partial<Record<ToolName, HitLatency>> };
  /** A second copy at another path built with the warm cache: hits of compiles, per tool. */
  crossCheckout: Partial<Record<ToolName, { hits: number; compiles: number }>>;
  goma?: GomaFigures;
}

/** The whole `--json` document. */
export interface BenchReport {
  schema: "goma-bench/1";
  goma: string;
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; memGiB: number; kernel: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  options: { projects: string[]; tools: ToolName[]; rounds: number; jobs: number; hitRuns: number; prefixMap: boolean };
  /** Every tool asked for: its version, or why it is missing ("sccache: not installed (not on PATH)"). */
  tools: Partial<Record<ToolName, { available: true; version: string } | { available: false; missing: string }>>;
  projects: ProjectReport[];
  /** Peak resident memory (VmHWM, MiB) seen of each daemon, over all its runs. */
  rssMiB: { proxy?: number; server?: number; sccache?: number };
}

/** The median of `xs` (NaN for none). */
export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The 90th percentile of `xs` (nearest rank; NaN for none). */
export function p90(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)]!;
}

/** Median per stage over tasks (only tasks that have the stage), plus `total` (the task's duration). */
export function stageMedians(tasks: { stages: Record<string, number>; durationMs?: number }[]): Record<string, number> {
  const by: Record<string, number[]> = {};
  for (const t of tasks) {
    for (const [k, v] of Object.entries(t.stages)) (by[k] ??= []).push(v);
    if (t.durationMs !== undefined) (by.total ??= []).push(t.durationMs);
  }
  return Object.fromEntries(Object.entries(by).map(([k, v]) => [k, round(median(v), 2)]));
}

/** Rounds to `d` decimals. */
export const round = (x: number, d = 3): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

/** Computes each tool's medians and ratios against local from `builds`. */
export function summarize(builds: BuildRecord[], tools: ToolName[]): Partial<Record<ToolName, ToolSummary>> {
  const phase = (tool: ToolName, p: BuildRecord["phase"]): PhaseSummary | undefined => {
    const bs = builds.filter((b) => b.tool === tool && b.phase === p);
    if (!bs.length) return undefined;
    const withCounters = bs.filter((b) => b.counters);
    return {
      wallS: round(median(bs.map((b) => b.wallS))),
      cpuS: round(median(bs.map((b) => b.cpuS))),
      n: bs.length,
      ...(withCounters.length
        ? { hits: median(withCounters.map((b) => b.counters!.hits)), compiles: median(withCounters.map((b) => b.counters!.compiles)) }
        : {}),
    };
  };
  const local = phase("local", "cold");
  const out: Partial<Record<ToolName, ToolSummary>> = {};
  for (const t of tools) {
    const cold = phase(t, "cold");
    if (!cold) continue;
    const warm = t === "local" ? undefined : phase(t, "warm");
    const r = (x: number | undefined, y: number | undefined) => (x !== undefined && y ? round(x / y) : NaN);
    out[t] = {
      cold,
      ...(warm ? { warm } : {}),
      ratios: {
        coldWall: r(cold.wallS, local?.wallS), coldCpu: r(cold.cpuS, local?.cpuS),
        ...(warm ? { warmWall: r(warm.wallS, local?.wallS), warmCpu: r(warm.cpuS, local?.cpuS) } : {}),
      },
    };
  }
  return out;
}

const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d));

/** The results as Markdown tables (what the README shows), one line per note. */
export function formatTables(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`goma bench: ${r.options.rounds} round(s), -j${r.options.jobs}${r.options.prefixMap ? ", -ffile-prefix-map=<tree>=." : ""}, ${r.machine.cores} cores, load average ${r.machine.loadAvgStart.map((x) => x.toFixed(2)).join(" ")} at the start, ${r.machine.loadAvgEnd.map((x) => x.toFixed(2)).join(" ")} at the end`);
  for (const [t, v] of Object.entries(r.tools)) if (!v.available) lines.push(`  ${v.missing}`);
  lines.push("");
  lines.push("| project | tool | cold wall s | warm wall s | cold CPU s | warm CPU s | cold / local | warm / local | cold CPU / local | warm CPU / local | warm hits |");
  lines.push("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const p of r.projects) {
    for (const [t, s] of Object.entries(p.summary) as [ToolName, ToolSummary][]) {
      const hits = s.warm?.hits !== undefined ? `${s.warm.hits}/${s.warm.compiles}` : "—";
      lines.push(`| ${p.name} | ${t} | ${f(s.cold.wallS)} | ${f(s.warm?.wallS)} | ${f(s.cold.cpuS)} | ${f(s.warm?.cpuS)} | ${f(s.ratios.coldWall)} | ${f(s.ratios.warmWall)} | ${f(s.ratios.coldCpu)} | ${f(s.ratios.warmCpu)} | ${hits} |`);
    }
  }
  lines.push("");
  lines.push("| project | tool | one warm hit (median, p90) | cross-checkout hits |");
  lines.push("|---|---|--:|--:|");
  for (const p of r.projects) {
    for (const t of Object.keys(p.summary) as ToolName[]) {
      const h = p.hitLatency?.tools[t];
      const c = p.crossCheckout[t];
      const hit = h ? `${f(h.medianMs, 1)} ms, ${f(h.p90Ms, 1)} ms${t === "local" ? " (a compile)" : ""}` : "—";
      lines.push(`| ${p.name}${p.hitLatency && t === "local" ? ` (${p.hitLatency.file})` : ""} | ${t} | ${hit} | ${c ? `${c.hits}/${c.compiles}` : "—"} |`);
    }
  }
  const stage = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${f(v, 1)}`).join(", ") || "—";
  const gp = r.projects.filter((p) => p.goma);
  if (gp.length) {
    lines.push("");
    lines.push("| project | goma: proxy stages per miss (ms, median) | per hit (ms, median) | client CPU per remote compile | -M fallbacks |");
    lines.push("|---|---|---|--:|--:|");
    for (const p of gp) {
      const g = p.goma!;
      lines.push(`| ${p.name} | ${stage(g.stagesMissMs)} (${g.misses} misses) | ${stage(g.stagesHitMs)} (${g.hits} hits) | ${g.clientCpuPerRemoteMs !== undefined ? `${f(g.clientCpuPerRemoteMs, 1)} ms` : "—"} | ${g.includeFallbacks} |`);
    }
  }
  const rss = Object.entries(r.rssMiB).map(([k, v]) => `${k} ${f(v, 0)} MiB`);
  if (rss.length) lines.push("", `peak RSS (VmHWM): ${rss.join(", ")}`);
  return lines.join("\n") + "\n";
}
