/**
 * goma's own include processor: the exact list of files the C/C++ preprocessor reads for a compile,
 * without running the compiler per compile (`-M` costs 7–9 % of a std-heavy compile; reference/peers.md
 * §2.3). A directive-level preprocessor evaluates conditions with the compiler's own predefined macros
 * and `__has_*` answers (probed once per compiler and code-generation flags), follows includes along
 * the search path as gcc or clang builds it, and caches per file version, per directory listing and
 * per include guard so the next compile is cheap. Whatever it does not model makes it give up with a
 * reason: the proxy then runs `-M` (lib/compiler `discoverInputs`), never a guessed list.
 *
 * Spec: reference/goma-protocol.md §5 (include processor, CompilerInfo, failure handling).
 */
import * as path from "node:path";
import type { CompilerFlags, CompilerInfo } from "../compiler/types.ts";
import { cacheSizes, clearFsCache, newEpoch } from "./fs/fs-cache.ts";
import { ppOptions, type PpOptions } from "./pp-options.ts";
import { answerQueries, clearProbes, getProbe, type Probe } from "./probe/probe.ts";
import { clearLookups } from "./fs/resolve.ts";
import { ScanFallback } from "./scan-fallback.ts";
import { Scanner } from "./scanner.ts";
import { scanTranslationUnit, type Origin, type ScanSetup } from "./translation-unit.ts";
import { buildSearchPath } from "./fs/search-path.ts";
import { countFallback, counters, fallbackByKind } from "./stats.ts";

export type { Origin } from "./translation-unit.ts";
export { ScanFallback, type FallbackKind } from "./scan-fallback.ts";
export { setProbeCacheDir } from "./probe/probe-cache.ts";

/** The answer of {@link scanInputs}. */
export interface ScanResult {
  /**
   * Every file the preprocessor reads: absolute, normalized (path.resolve against the compile's cwd),
   * de-duplicated, the source first. A superset of what `-M` lists: it adds files a `__has_include`
   * found (the remote compiler must see them too) and a `#pragma once` file reached by a second path.
   * Empty when `fallback` is set.
   */
  files: string[];
  /** Set when the scanner gave up: the reason ("error: a.c:3: <x.h>: No such file…"); the proxy then runs -M. */
  fallback?: string;
}

/** The longest a scan waits for `__has_*` answers before giving up (rounds of compiler probes). */
const MAX_QUERY_ROUNDS = 4;

/**
 * Lists the input files of one compile with goma's include processor.
 *
 * Never throws: anything the scanner cannot decide becomes `fallback` (and is counted for the
 * dashboard). Probes the compiler (`-E -dM -v`) the first time a compiler, language and set of
 * code-generation flags is seen; later calls with the same ones run without any process.
 *
 * @param flags parsed flags of a supported compile (`args`, `input`, `lang`, `infoFlags`, `sysroot`).
 * @param info the compiler (`localPath` is probed, `family` picks gcc's or clang's rules).
 * @param cwd the compile's working directory (absolute).
 * @param env the compile's environment (CPATH, C_INCLUDE_PATH, CPLUS_INCLUDE_PATH add dirs).
 */
export async function scanInputs(
  flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>,
): Promise<ScanResult> {
  try {
    const files = await scanDetailed(flags, info, cwd, env);
    return { files: [...files.keys()] };
  } catch (e) {
    if (e instanceof ScanFallback) return { files: [], fallback: `${e.kind}: ${e.message}` };
    return { files: [], fallback: `internal: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * {@link scanInputs} with the reason each file was read (`goma doctor inputs --explain`);
 * `opts.lines` adds the includer's line to each origin.
 * @returns normalized absolute path → origin, in the order found.
 * @throws {ScanFallback} where scanInputs reports a fallback (already counted).
 */
export async function scanDetailed(
  flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, opts: { lines?: boolean } = {},
): Promise<Map<string, Origin>> {
  const t0 = performance.now();
  counters.scans++;
  try {
    if (flags.unsupported !== undefined) throw new ScanFallback("unsupported", flags.unsupported);
    const pp = ppOptions(flags.args);
    if (pp.unsupported !== undefined) throw new ScanFallback("unsupported", pp.unsupported);
    const probe = await getProbe(info, flags.lang, pp.probeArgs, flags.infoFlags, cwd, env);
    for (let round = 0; ; round++) {
      const setup = prepare(flags, info, cwd, env, pp, probe, opts.lines);
      const scanner = new Scanner(setup);
      let files: Map<string, Origin> | undefined;
      let error: unknown;
      try {
        files = scanTranslationUnit(scanner, setup);
      } catch (e) {
        error = e;
      }
      if (scanner.unknownQueries.size === 0) {
        if (error !== undefined) throw error;
        counters.scansOk++;
        return files!;
      }
      if (round >= MAX_QUERY_ROUNDS) throw new ScanFallback("probe", `no stable answers for ${[...scanner.unknownQueries].join(", ")}`);
      counters.queryRounds++;
      await answerQueries(probe, [...scanner.unknownQueries]);
    }
  } catch (e) {
    countFallback(e instanceof ScanFallback ? e.kind : "internal");
    throw e;
  } finally {
    counters.scanMs += performance.now() - t0;
  }
}

/** Starts a scan epoch and puts together what one scan needs. */
function prepare(
  flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, pp: PpOptions, probe: Probe,
  lines?: boolean,
): ScanSetup {
  newEpoch();
  const search = buildSearchPath(info.family, flags.lang, cwd, env, probe.std, pp.dirs,
    flags.sysroot === undefined ? undefined : path.resolve(cwd, flags.sysroot));
  return { family: info.family, cwd, input: flags.input, probe, search, pp, lines };
}

/**
 * The scanner's counters and cache sizes since the process started, for the proxy's dashboard:
 * `scans`, `scansOk`, `fallbacks`, `fallback.<kind>` (error, unsupported, probe, io, internal),
 * `probes`, `probeCacheHits`, `queryRounds`, `fileHits`/`fileReads`, `bytesRead`, `listingHits`/`listingReads`,
 * `lookups`/`lookupHits`, `condHits`, `stats`, `guardSkips`, `onceSkips`, `scanMs`, and `cache.files`/`cache.dirs`/`cache.stats` (entries).
 */
export function includeStats(): Record<string, number> {
  const out: Record<string, number> = { ...counters, ...cacheSizes() };
  for (const [k, v] of fallbackByKind) out[`fallback.${k}`] = v;
  out.scanMs = Math.round(counters.scanMs);
  return out;
}

/** Forgets every file, directory, lookup and `#if` cache, keeping the compiler probes (cold-scan measurements). @internal */
export function clearFileCaches(): void {
  clearFsCache();
  clearLookups();
}

/** Forgets every cache and probe (tests and cold-start measurements). @internal */
export function resetIncludeCaches(): void {
  clearFsCache();
  clearLookups();
  clearProbes();
}
