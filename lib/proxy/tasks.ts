/**
 * The proxy's record of compile tasks: the recent ones for the dashboard and the counters of
 * `/api/stats`. A task ends in exactly one outcome:
 * - `remote`: executed by the backend (whatever the compiler's exit code; `exitCode` says);
 * - `cacheHit`: served from the backend's action cache;
 * - `localFallback`: meant to go remote, but goma failed (server down, bad request …) and the compile
 *   ran locally instead — `reason` says why;
 * - `local`: not remotable by nature (a link, `-E`, unsupported flags, a preprocessing error the local
 *   compiler reports) — `reason` says which;
 * - `failed`: the proxy itself failed on the task (a bug); the compile still ran locally.
 */

/** One task's outcome. */
export type Outcome = "remote" | "cacheHit" | "localFallback" | "local" | "failed";

/** One compile as the dashboard shows it. */
export interface TaskRecord {
  id: number;
  startedAt: number;
  durationMs?: number;
  argv: string[];
  cwd: string;
  pid: number;
  state: "running" | "done";
  outcome?: Outcome;
  reason?: string;
  exitCode?: number;
  /** Time spent per stage, in ms: flags, info, inputs, exec, outputs. */
  stages: Record<string, number>;
  /** Missing-input round trips and retries. */
  retries: number;
  /** Why the include processor gave up on this compile (its inputs then came from the compiler's -M). */
  includeFallback?: string;
}

/** Counters of `/api/stats`. `remoteErrors` counts remote compiles whose compiler exit code was non-zero. */
export interface Stats {
  total: number;
  running: number;
  remote: number;
  cacheHit: number;
  localFallback: number;
  local: number;
  failed: number;
  remoteErrors: number;
}

/** Keeps the last `keep` tasks and the counters since start. */
export class TaskLog {
  private recent: TaskRecord[] = [];
  private nextId = 1;
  readonly stats: Stats = { total: 0, running: 0, remote: 0, cacheHit: 0, localFallback: 0, local: 0, failed: 0, remoteErrors: 0 };

  constructor(private readonly keep = 1000) {}

  /** Starts a record. */
  start(argv: string[], cwd: string, pid: number): TaskRecord {
    const t: TaskRecord = { id: this.nextId++, startedAt: Date.now(), argv, cwd, pid, state: "running", stages: {}, retries: 0 };
    this.stats.total++;
    this.stats.running++;
    this.recent.push(t);
    if (this.recent.length > this.keep) this.recent.shift();
    return t;
  }

  /** Ends a record with its outcome. */
  finish(t: TaskRecord, outcome: Outcome, opts: { reason?: string; exitCode?: number } = {}): void {
    if (t.state === "done") return;
    t.state = "done";
    t.outcome = outcome;
    t.reason = opts.reason;
    t.exitCode = opts.exitCode;
    t.durationMs = Date.now() - t.startedAt;
    this.stats.running--;
    this.stats[outcome]++;
    if (outcome === "remote" && opts.exitCode) this.stats.remoteErrors++;
  }

  /** The recent tasks, newest first. */
  list(): TaskRecord[] {
    return [...this.recent].reverse();
  }
}
