/**
 * The proxy's record of compile tasks: the recent ones for the dashboard and the counters of
 * `/api/stats` and `goma proxy stats`. A task ends in exactly one outcome:
 * - `remote`: executed by the backend (whatever the compiler's exit code; `exitCode` says);
 * - `cacheHit`: served from the backend's action cache, or (`localCacheHit` on the record, counted in
 *   `stats.localCacheHit` too) from the proxy's local output cache without contacting the server;
 * - `localFallback`: meant to go remote, but goma failed (server down, bad request …) and the compile
 *   ran locally instead — `reason` says why;
 * - `local`: not remotable by nature (unsupported flags, a preprocessing error the local compiler
 *   reports) — `reason` says which;
 * - `failed`: the proxy itself failed on the task (a bug); the compile still ran locally.
 *
 * Two more outcomes come from `goma cc`'s reports, sent after it ran a step itself without asking the
 * proxy (lib/cc/run.ts); they are not in `total` (the tasks the proxy handled):
 * - `direct`: a step `goma cc` ran locally at once (a link, `-E`, stdin input, `GOMA_DISABLED`);
 * - `unreachable`: a compile `goma cc` ran locally because no proxy answered; counted when a proxy next
 *   runs with the same GOMA_TMP_DIR (read from `goma cc`'s spool file: lib/ipc/paths.ts `unreachedSpoolPath`).
 */

/** One task's outcome. */
export type Outcome = "remote" | "cacheHit" | "localFallback" | "local" | "failed" | "direct" | "unreachable";

/** Every outcome, in the order the dashboard and `goma proxy stats` list them. */
export const OUTCOMES: readonly Outcome[] = ["remote", "cacheHit", "localFallback", "local", "direct", "unreachable", "failed"];

/** One compile as the dashboard shows it. */
export interface TaskRecord {
  id: number;
  /** ms since the epoch. */
  startedAt: number;
  /** The proxy's time on the task (ms); for `direct`/`unreachable` the local run's. */
  durationMs?: number;
  argv: string[];
  cwd: string;
  pid: number;
  state: "running" | "done";
  outcome?: Outcome;
  reason?: string;
  /** The compiler's exit code (remote, or the local run's as `goma cc` reported it). */
  exitCode?: number;
  /** Time spent per stage, in ms: flags, info, inputs, request, exec, outputs. */
  stages: Record<string, number>;
  /** Missing-input round trips and retries. */
  retries: number;
  /** A `cacheHit` served by the proxy's local output cache (GOMA_LOCAL_OUTPUT_CACHE_DIR), not the server. */
  localCacheHit?: boolean;
  /** Why the include processor gave up on this compile (its inputs then came from the compiler's -M). */
  includeFallback?: string;
  /** The remote compiler's stderr (UTF-8, at most {@link STDERR_KEEP} bytes), when it wrote any. */
  stderr?: string;
  /** ms `goma cc` spent running the compiler locally, as it reported after the run. */
  localMs?: number;
  /** Change sequence number: `/api/tasks?after=N` returns the records with `updated > N`. */
  updated: number;
}

/** How much of a remote compile's stderr a record keeps (bytes). */
export const STDERR_KEEP = 32 * 1024;

/** Counters of `/api/stats`. `remoteErrors` counts remote compiles whose compiler exit code was non-zero. */
export interface Stats {
  /** Tasks the proxy handled (not `direct` or `unreachable`). */
  total: number;
  running: number;
  remote: number;
  cacheHit: number;
  /** The part of `cacheHit` served by the proxy's local output cache. */
  localCacheHit: number;
  localFallback: number;
  local: number;
  failed: number;
  direct: number;
  unreachable: number;
  remoteErrors: number;
}

/** A run `goma cc` did on its own, as it reports it (IPC `report`) or spools it (one JSON line). */
export interface SpooledRun {
  /** The proxy's task id when the proxy answered `local` for this compile. */
  id?: number;
  argv?: string[];
  cwd?: string;
  pid?: number;
  reason?: string;
  /** "direct" (ran at once), "unreachable" (no proxy answered), or "local" (the proxy said so: `id` set). */
  outcome?: "direct" | "unreachable" | "local";
  /** Duration of the local run in ms. */
  ms?: number;
  exitCode?: number;
  /** When the run started, ms since the epoch. */
  at?: number;
}

/**
 * What `goma proxy stats` and `/api/stats?summary` show: counts since the proxy started or was last
 * zeroed (`goma proxy stats --zero`), like `ccache -s`.
 */
export interface StatsSummary {
  /** ms since the epoch of the proxy's start or the last zeroing. */
  since: number;
  counts: Stats;
  /** Every step seen: `total` + `direct` + `unreachable`. */
  steps: number;
  /** Action-cache hits in % of the compiles the backend answered (cacheHit / (cacheHit + remote)); null before any. */
  hitRatePercent: number | null;
  /** Compiles the backend answered in % of the compiles the proxy handled; null before any. */
  remotePercent: number | null;
  /** ms spent on compiles the backend answered (proxy time, remote + cacheHit) and on local runs (as goma cc reported them). */
  timeMs: { remote: number; local: number };
  /** Bytes the proxy sent to and received from the server (HTTP bodies, compressed as sent). */
  bytes: { sent: number; received: number };
  /** The most frequent reasons for local runs, numbers and paths generalized, most frequent first (at most 10). */
  localReasons: { reason: string; count: number }[];
}

/** Upper bounds (ms) of the compile-time histogram's buckets; the last bucket is open. */
export const HISTOGRAM_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

const zeroStats = (): Stats => ({ total: 0, running: 0, remote: 0, cacheHit: 0, localCacheHit: 0, localFallback: 0, local: 0, failed: 0, direct: 0, unreachable: 0, remoteErrors: 0 });

/**
 * A local-run reason with what varies between compiles taken out, for grouping:
 * numbers → N, absolute paths → <path>, URLs → <url>; at most 160 characters.
 * @example generalizeReason("remote compiles paused for 4 s after 5 consecutive failures: …") // "remote compiles paused for N s after N consecutive failures: …"
 */
export function generalizeReason(reason: string): string {
  return reason
    .replace(/\bhttps?:\/\/\S+/g, "<url>")
    .replace(/(^|[\s("'=])\/[^\s:)"',]+/g, "$1<path>")
    .replace(/\d+(\.\d+)?/g, "N")
    .slice(0, 160);
}

/** Keeps the last `keep` tasks and the counters since start (or the last {@link TaskLog.zero}). */
export class TaskLog {
  private recent: TaskRecord[] = [];
  private nextId = 1;
  private seq = 0;
  private reasons = new Map<string, number>();
  private remoteMs = 0;
  private localMs = 0;
  private histogram = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  /** ms since the epoch of the start or last zeroing. */
  since = Date.now();
  readonly stats: Stats = zeroStats();
  /** Called after a record is finished (for metrics); errors are the listener's own business. */
  onFinish?: (t: TaskRecord) => void;

  constructor(private readonly keep = 1000) {}

  /** The sequence number of the last change (records with `updated` above it are newer). */
  get version(): number {
    return this.seq;
  }

  private push(t: TaskRecord): void {
    this.recent.push(t);
    if (this.recent.length > this.keep) this.recent.shift();
  }

  /** Starts a record. */
  start(argv: string[], cwd: string, pid: number): TaskRecord {
    const t: TaskRecord = { id: this.nextId++, startedAt: Date.now(), argv, cwd, pid, state: "running", stages: {}, retries: 0, updated: ++this.seq };
    this.stats.total++;
    this.stats.running++;
    this.push(t);
    return t;
  }

  /** Ends a record with its outcome. `stderr` is the remote compiler's (kept up to {@link STDERR_KEEP} bytes). */
  finish(t: TaskRecord, outcome: Outcome, opts: { reason?: string; exitCode?: number; stderr?: Uint8Array; localCacheHit?: boolean } = {}): void {
    if (t.state === "done") return;
    t.state = "done";
    t.outcome = outcome;
    t.reason = opts.reason;
    t.exitCode = opts.exitCode;
    if (opts.stderr?.byteLength) t.stderr = new TextDecoder().decode(opts.stderr.subarray(0, STDERR_KEEP));
    t.durationMs = Date.now() - t.startedAt;
    t.updated = ++this.seq;
    this.stats.running--;
    this.stats[outcome]++;
    if (outcome === "cacheHit" && opts.localCacheHit) {
      t.localCacheHit = true;
      this.stats.localCacheHit++;
    }
    if (outcome === "remote" && opts.exitCode) this.stats.remoteErrors++;
    if (outcome === "remote" || outcome === "cacheHit") {
      this.remoteMs += t.durationMs;
      this.histogram[bucketOf(t.durationMs)]!++;
    } else if (opts.reason) {
      this.countReason(opts.reason);
    }
    this.onFinish?.(t);
  }

  private countReason(reason: string): void {
    const r = generalizeReason(reason);
    this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    if (this.reasons.size > 1000) this.reasons.delete(this.reasons.keys().next().value!);
  }

  /**
   * Takes a report of `goma cc` about a run it did itself (never throws on odd input: fields are checked).
   * With `id` (outcome "local"): the local run's time and exit code are added to that task, if still kept.
   * Otherwise a `direct` or `unreachable` record is added.
   * @returns the record it changed or added, or undefined when it ignored the report.
   */
  report(r: SpooledRun): TaskRecord | undefined {
    const ms = typeof r.ms === "number" && Number.isFinite(r.ms) && r.ms >= 0 ? Math.round(r.ms * 10) / 10 : undefined;
    const exitCode = Number.isInteger(r.exitCode) ? r.exitCode : undefined;
    if (typeof r.id === "number") {
      const t = this.recent.find((x) => x.id === r.id);
      if (!t || t.localMs !== undefined || t.state !== "done") return undefined;
      t.localMs = ms;
      if (t.exitCode === undefined) t.exitCode = exitCode;
      if (ms !== undefined) this.localMs += ms;
      t.updated = ++this.seq;
      return t;
    }
    const outcome = r.outcome === "unreachable" ? "unreachable" : "direct";
    const argv = Array.isArray(r.argv) ? r.argv.filter((a) => typeof a === "string").slice(0, 10_000) : [];
    const startedAt = typeof r.at === "number" && Number.isFinite(r.at) ? r.at : Date.now();
    const reason = typeof r.reason === "string" ? r.reason.slice(0, 1000) : outcome === "unreachable" ? "no goma proxy answered" : "run locally by goma cc";
    const t: TaskRecord = {
      id: this.nextId++, startedAt, durationMs: ms, argv, cwd: typeof r.cwd === "string" ? r.cwd : "", pid: Number.isInteger(r.pid) ? r.pid! : 0,
      state: "done", outcome, reason, exitCode, stages: {}, retries: 0, localMs: ms, updated: ++this.seq,
    };
    this.push(t);
    this.stats[outcome]++;
    if (ms !== undefined) this.localMs += ms;
    this.countReason(reason);
    this.onFinish?.(t);
    return t;
  }

  /** Resets the counters (not the running count, not the task list), as `ccache -z`. */
  zero(): void {
    const running = this.stats.running;
    Object.assign(this.stats, zeroStats(), { running });
    this.reasons.clear();
    this.remoteMs = 0;
    this.localMs = 0;
    this.histogram.fill(0);
    this.since = Date.now();
  }

  /** The summary of `goma proxy stats`; `bytes` are the caller's (the HTTP client counts them). */
  summary(bytes: { sent: number; received: number }): StatsSummary {
    const s = this.stats;
    const answered = s.remote + s.cacheHit;
    const pct = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 1000) / 10 : null);
    return {
      since: this.since,
      counts: { ...s },
      steps: s.total + s.direct + s.unreachable,
      hitRatePercent: pct(s.cacheHit, answered),
      remotePercent: pct(answered, s.total - s.running),
      timeMs: { remote: this.remoteMs, local: Math.round(this.localMs) },
      bytes,
      localReasons: [...this.reasons].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([reason, count]) => ({ reason, count })),
    };
  }

  /**
   * The histogram of the durations (ms, proxy time) of compiles the backend answered since start or zeroing:
   * one count per bucket, `le` its upper bound (ms; null for the open last bucket).
   */
  durationHistogram(): { le: number | null; count: number }[] {
    return this.histogram.map((count, i) => ({ le: HISTOGRAM_BOUNDS_MS[i] ?? null, count }));
  }

  /** The recent tasks, newest first; with `after`, only those changed after that {@link version}. */
  list(after?: number): TaskRecord[] {
    const all = [...this.recent].reverse();
    return after === undefined ? all : all.filter((t) => t.updated > after);
  }
}

function bucketOf(ms: number): number {
  const i = HISTOGRAM_BOUNDS_MS.findIndex((b) => ms <= b);
  return i < 0 ? HISTOGRAM_BOUNDS_MS.length : i;
}
