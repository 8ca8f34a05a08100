/** Runs `goma doctor --json` and indexes its checks by id (the first check of each id wins). */
import { gomaBin, run } from "../e2e/harness.ts";
import type { CheckResult, DoctorReport } from "../../lib/doctor/check.ts";

/** A doctor run: the report, its checks by id, and the exit code. */
export interface DoctorRun {
  code: number;
  report: DoctorReport;
  byId: Map<string, CheckResult>;
  /** All checks whose id starts with `prefix`. */
  all(prefix: string): CheckResult[];
}

/** `goma doctor --json ARGS` with `env` merged over process.env. */
export async function doctor(env: Record<string, string>, args: string[] = []): Promise<DoctorRun> {
  const r = await run([gomaBin(), "doctor", "--json", ...args], { env });
  let report: DoctorReport;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`goma doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const byId = new Map<string, CheckResult>();
  for (const c of report.checks) if (!byId.has(c.id)) byId.set(c.id, c);
  return { code: r.code, report, byId, all: (p) => report.checks.filter((c) => c.id.startsWith(p)) };
}

/** The check `id`, or a failure listing what there is. */
export function check(d: DoctorRun, id: string): CheckResult {
  const c = d.byId.get(id);
  if (!c) throw new Error(`no check ${id}; have ${[...d.byId.keys()].join(", ")}`);
  return c;
}
