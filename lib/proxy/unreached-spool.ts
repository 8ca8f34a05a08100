/**
 * Counting the compiles `goma cc` ran while no proxy answered: it appends one JSON line per run to
 * `$GOMA_TMP_DIR/goma_cc_unreached.jsonl` (lib/cc/run.ts, lib/config/paths.ts `unreachedSpoolPath`); the
 * proxy takes the file (renames it, so runs appended meanwhile go to a new one), counts every line as a
 * report of a local run, and deletes it.
 */
import { readFileSync, renameSync, unlinkSync } from "node:fs";
import type { CcReport } from "../ipc/protocol.ts";
import type { TaskLog } from "./tasks.ts";
import { log } from "../util/log.ts";

/** At most this many lines are read from one spool (a runaway file cannot stall the proxy). */
const MAX_LINES = 100_000;

/**
 * Counts and forgets the spooled runs in `spoolPath` (reports without an id: they never had a task).
 * Torn or foreign lines are skipped; a missing spool is nothing to do. Never throws.
 * @returns how many runs were counted.
 */
export function ingestUnreachedSpool(spoolPath: string, tasks: Pick<TaskLog, "report">, pid = process.pid): number {
  const taken = `${spoolPath}.${pid}`;
  try {
    renameSync(spoolPath, taken);
  } catch {
    return 0; // none spooled
  }
  let n = 0;
  try {
    for (const line of readFileSync(taken, "utf8").split("\n").slice(0, MAX_LINES)) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as CcReport["report"];
        if (r && typeof r === "object") {
          tasks.report({ ...r, id: undefined });
          n++;
        }
      } catch {
        // a torn or foreign line: skipped
      }
    }
  } catch (e) {
    log.warn(`${spoolPath}: ${(e as Error).message}`);
  } finally {
    try {
      unlinkSync(taken);
    } catch {
      // gone already
    }
  }
  return n;
}
