/**
 * Compiler probes kept on disk, so that a new proxy process does not run the compiler again for a
 * compiler and set of code-generation flags it has seen (as CompilerInfo is kept in
 * `$GOMA_CACHE_DIR/compiler_info`). Off unless the IncludeProcessor is given a directory (`probeCacheDir`).
 *
 * What is kept is the first probe run's raw output plus the `__has_*` operands it answered; it is
 * used again only while everything it depended on looks the same: the compiler binary and its
 * subprograms (cc1, cc1plus), every standard include directory it printed, every directory it said it
 * ignored for not existing (`ignoring nonexistent directory "…"`), and the files it pre-includes
 * (stdc-predef.h) — by existence, size, mtime and inode.
 *
 * Spec: reference/goma-protocol.md §4.5 and §5 (compiler_info_cache: reuse while the stamps match).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CompilerInfo } from "../../compiler/types.ts";
import type { ProbeRun } from "./probe-run.ts";

interface Stamp {
  path: string;
  exists: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
}

interface Stored {
  version: 2;
  key: string;
  keys: string[];
  run: ProbeRun;
  stamps: Stamp[];
}

function fileOf(cacheDir: string | undefined, key: string): string | undefined {
  if (cacheDir === undefined) return undefined;
  return path.join(cacheDir, `probe-v1-${createHash("sha256").update(key).digest("hex").slice(0, 32)}.json`);
}

function stampOf(p: string): Stamp {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st ? { path: p, exists: true, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } : { path: p, exists: false, size: 0, mtimeMs: 0, ino: 0 };
}

/**
 * A stored first probe run for `key`, if there is one under `cacheDir` and its stamps still match.
 * @param cacheDir the directory probes are kept in (`$GOMA_CACHE_DIR/include_probe`); undefined: none.
 */
export function loadProbeRun(cacheDir: string | undefined, key: string): { run: ProbeRun; keys: string[] } | undefined {
  const file = fileOf(cacheDir, key);
  if (file === undefined) return undefined;
  let stored: Stored;
  try {
    stored = JSON.parse(fs.readFileSync(file, "utf8")) as Stored;
  } catch {
    return undefined;
  }
  if (stored.version !== 2 || stored.key !== key) return undefined;
  for (const s of stored.stamps) {
    const now = stampOf(s.path);
    if (now.exists !== s.exists || now.size !== s.size || now.mtimeMs !== s.mtimeMs || now.ino !== s.ino) return undefined;
  }
  return { run: stored.run, keys: stored.keys };
}

/**
 * Stores a first probe run under `cacheDir` (created when missing; undefined: nothing is stored).
 * Best effort: a failure to write only costs a probe next time.
 * @param dirs the standard include dirs the run printed; @param preincludes the files it pre-includes
 *   and the extra dependencies it lists (absolute).
 */
export function storeProbeRun(
  cacheDir: string | undefined, key: string, info: CompilerInfo, run: ProbeRun, keys: readonly string[], dirs: readonly string[], preincludes: readonly string[],
): void {
  const file = fileOf(cacheDir, key);
  if (file === undefined) return;
  const ignored = [...run.stderr.matchAll(/^ignoring nonexistent directory "([^"]+)"$/gm)].map((m) => m[1]!);
  const paths = [info.realPath, ...info.subprograms.map((s) => s.path), ...dirs, ...ignored, ...preincludes];
  const stored: Stored = { version: 2, key, keys: [...keys], run, stamps: [...new Set(paths)].map(stampOf) };
  try {
    fs.mkdirSync(cacheDir!, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(stored));
    fs.renameSync(tmp, file);
  } catch {
    // best effort
  }
}
