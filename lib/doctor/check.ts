/**
 * The shape of a `goma doctor` finding and how findings are printed. Every check yields one
 * {@link CheckResult}: a status, one line of evidence (what was seen) and, unless it passed, one line of
 * fix (what to do). `skip` marks a check that could not run because an earlier one failed (its evidence
 * says which); it is neither a pass nor a failure.
 */

/** pass: fine; warn: works but suspicious or slow; fail: this breaks remote compiles; skip: not run. */
export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** One finding. */
export interface CheckResult {
  /** Stable dotted id, e.g. `server.ping`, `backend.platform` (for --json consumers and tests). */
  id: string;
  /** Human title, e.g. "server /ping". */
  title: string;
  status: CheckStatus;
  /** One line: what was observed (never a secret). */
  evidence: string;
  /** One line: what to do (absent on pass). */
  fix?: string;
  /** Structured extras for --json (versions, timings …). */
  data?: Record<string, unknown>;
}

/** Shorthands. */
export const pass = (id: string, title: string, evidence: string, data?: Record<string, unknown>): CheckResult => ({ id, title, status: "pass", evidence, data });
export const warn = (id: string, title: string, evidence: string, fix: string, data?: Record<string, unknown>): CheckResult => ({ id, title, status: "warn", evidence, fix, data });
export const fail = (id: string, title: string, evidence: string, fix: string, data?: Record<string, unknown>): CheckResult => ({ id, title, status: "fail", evidence, fix, data });
export const skip = (id: string, title: string, evidence: string): CheckResult => ({ id, title, status: "skip", evidence });

/** The whole report. `ok` is false when any check failed. */
export interface DoctorReport {
  version: string;
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: CheckResult[];
}

/** Builds the report from results. */
export function report(version: string, checks: CheckResult[]): DoctorReport {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return { version, ok: counts.fail === 0, counts, checks };
}

const LABEL: Record<CheckStatus, string> = { pass: "pass", warn: "WARN", fail: "FAIL", skip: "skip" };

/**
 * The text form: one block per check — `pass  title: evidence`, then `      fix: …` when there is one —
 * and a summary line.
 */
export function formatReport(r: DoctorReport): string {
  const lines: string[] = [`goma doctor ${r.version}`];
  for (const c of r.checks) {
    lines.push(`${LABEL[c.status].padEnd(5)} ${c.title}: ${c.evidence}`);
    if (c.fix && c.status !== "pass") lines.push(`      fix: ${c.fix}`);
  }
  const { pass: p, warn: w, fail: f, skip: s } = r.counts;
  lines.push(`${f ? "FAILED" : "OK"}: ${p} passed, ${w} warnings, ${f} failed${s ? `, ${s} skipped` : ""}`);
  return lines.join("\n") + "\n";
}
