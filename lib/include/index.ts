/**
 * goma's own include processor: the exact list of files the C/C++ preprocessor reads for a compile,
 * without running the compiler per compile (`-M` costs 7–9 % of a std-heavy compile; reference/peers.md
 * §2.3). A directive-level preprocessor evaluates conditions with the compiler's own predefined macros
 * and `__has_*` answers (probed once per compiler and code-generation flags), follows includes along
 * the search path as gcc or clang builds it, and caches per file version, per directory listing and
 * per include guard so the next compile is cheap. Whatever it does not model makes it give up with a
 * reason: the proxy then runs `-M` (lib/compiler `discoverInputs`), never a guessed list.
 *
 * Layout: this file (the {@link IncludeProcessor}, which owns every cache), scanner.ts and
 * translation-unit.ts (one scan), pp/ (the preprocessor: lexer, tokens, directives, macros, expansion,
 * `#if` evaluation and its memo), fs/ (file-system lookups: the stat/listing/parsed-file cache, include
 * resolution, the search path), probe/ (the compiler probe, its runner and its disk cache).
 *
 * Spec: reference/goma-protocol.md §5 (include processor, CompilerInfo, failure handling).
 */
import * as path from "node:path";
import type { CompilerFlags, CompilerInfo } from "../compiler/types.ts";
import { FsCache, RACY_MS, sameVersion, type StatInfo } from "./fs/fs-cache.ts";
import { LookupCache } from "./fs/resolve.ts";
import { buildSearchPath } from "./fs/search-path.ts";
import { MacroPool } from "./pp/macros.ts";
import { ppOptions, type PpOptions } from "./pp-options.ts";
import { ProbeCache, type Probe } from "./probe/probe.ts";
import { ScanFallback } from "./scan-fallback.ts";
import { Scanner } from "./scanner.ts";
import { ScanStats } from "./stats.ts";
import { scanTranslationUnit, type Origin, type ScanCaches, type ScanSetup } from "./translation-unit.ts";
import { includeRulesOf } from "../compiler/registry.ts";

export type { Origin } from "./translation-unit.ts";
export { ScanFallback, type FallbackKind } from "./scan-fallback.ts";

/** The answer of {@link IncludeProcessor.scanInputs}. */
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

/** How an {@link IncludeProcessor} is built. */
export interface IncludeProcessorOptions {
  /**
   * Where compiler probes are kept across processes (the proxy: `$GOMA_CACHE_DIR/include_probe`,
   * about one `gcc -M` saved per compiler at a restart); undefined keeps them in memory only.
   */
  probeCacheDir?: string;
  /**
   * Keep an include manifest per compile (off by default; the proxy turns it on): see
   * {@link IncludeProcessor.scanInputs}.
   */
  manifests?: boolean;
}

/**
 * One compile's include manifest (ccache's direct mode, made exact): the files its last scan listed and
 * every path that scan asked `stat` about, with the answer (undefined: no such file). Stored only when
 * none of those paths had changed within {@link RACY_MS} of the scan.
 */
interface Manifest {
  files: string[];
  stats: [string, StatInfo | undefined][];
}

/**
 * At most this many manifests, and this many recorded paths in all, are kept (then all are dropped: a
 * crude bound, as for parsed files). A recorded path costs about 50 bytes (its string and stat are
 * shared with the FsCache), so the bound is about 50 MB.
 */
const MAX_MANIFESTS = 50_000;
const MAX_MANIFEST_PATHS = 1_000_000;

/**
 * The environment variables a scan may depend on: the ones it reads (the search-path variables of
 * fs/search-path.ts, the probe key's GCC_EXEC_PREFIX and COMPILER_PATH) and, to be safe, anything else
 * a gcc or clang driver reads to find files. Others (MAKEFLAGS, a jobserver's fds, TERM…) vary between
 * builds without changing any input.
 */
const SCAN_ENV = /INCLUDE|^(CPATH|PATH|COMPILER_PATH|GCC_[A-Z_]+|CCC_[A-Z_]+|CLANG_[A-Z_]+|SDKROOT|SOURCE_DATE_EPOCH)$/;

/**
 * What a scan's answer depends on besides the file system: the compile's flags, the compiler (its
 * identity picks the probe), the working directory and the environment's {@link SCAN_ENV} variables.
 */
function manifestKey(flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>): string {
  return JSON.stringify([
    flags.args, flags.input, flags.lang, flags.sysroot ?? null, flags.infoFlags, flags.unsupported ?? null,
    info.family, info.lang, info.localPath, info.realPath, info.hash, info.version, info.target,
    cwd, Object.entries(env).filter(([k]) => SCAN_ENV.test(k)).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
  ]);
}

/**
 * Goma's IncludeProcessor (client/cxx/include_processor): lists the files a compile reads and keeps,
 * for its own lifetime, every cache that makes the next scan cheap — stats and directory listings,
 * parsed files, include lookups, shared macro definitions, compiler probes — and its counters. The
 * proxy builds one at start (its caches live as long as the daemon); `goma doctor inputs`, scripts and
 * tests build their own. Not shared between threads (the scanner is synchronous between probes).
 */
export class IncludeProcessor {
  private readonly statsOf = new ScanStats();
  private readonly fs: FsCache;
  private readonly lookups: LookupCache;
  private readonly probes: ProbeCache;
  private readonly caches: ScanCaches;
  /** Include manifests by {@link manifestKey}; undefined when off. */
  private readonly manifests: Map<string, Manifest> | undefined;
  /** Recorded paths in all of {@link manifests} (bounded by MAX_MANIFEST_PATHS). */
  private manifestPaths = 0;

  constructor(opts: IncludeProcessorOptions = {}) {
    this.manifests = opts.manifests ? new Map() : undefined;
    const counters = this.statsOf.counters;
    this.fs = new FsCache(counters);
    this.lookups = new LookupCache(this.fs, counters);
    this.probes = new ProbeCache(counters, opts.probeCacheDir);
    this.caches = { fs: this.fs, lookups: this.lookups, macros: new MacroPool(), counters };
  }

  /**
   * Lists the input files of one compile.
   *
   * Never throws: anything the scanner cannot decide becomes `fallback` (and is counted for the
   * dashboard). Probes the compiler (`-E -dM -v`) the first time a compiler, language and set of
   * code-generation flags is seen; later calls with the same ones run without any process.
   *
   * @param flags parsed flags of a supported compile (`args`, `input`, `lang`, `infoFlags`, `sysroot`).
   * @param info the compiler (`localPath` is probed; `family`, its type, gives the IncludeRules).
   * @param cwd the compile's working directory (absolute).
   * @param env the compile's environment (CPATH, C_INCLUDE_PATH, CPLUS_INCLUDE_PATH add dirs).
   *
   * With `manifests` on, a compile scanned before (same flags, compiler, cwd and environment) is
   * answered from its manifest when every path that scan asked `stat` about — each file read, each
   * directory listed, each name found missing — still stats the same (device, inode, size, mtime): the
   * scan would see the same file system and give the same list. Any difference (a header edited or
   * touched, a header added that shadows one later on the search path: its directory's mtime changed)
   * scans again. Scans that saw a path changed within {@link RACY_MS} leave no manifest.
   */
  async scanInputs(
    flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>,
  ): Promise<ScanResult> {
    const key = this.manifests && flags.unsupported === undefined ? manifestKey(flags, info, cwd, env) : undefined;
    if (key !== undefined) {
      const files = this.fromManifest(key);
      if (files) return { files };
    }
    try {
      const files = await this.scan(flags, info, cwd, env, {}, key);
      return { files: [...files.keys()] };
    } catch (e) {
      if (e instanceof ScanFallback) return { files: [], fallback: `${e.kind}: ${e.message}` };
      return { files: [], fallback: `internal: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /**
   * {@link IncludeProcessor.scanInputs} with the reason each file was read (`goma doctor inputs --explain`);
   * `opts.lines` adds the includer's line to each origin.
   * @returns normalized absolute path → origin, in the order found.
   * @throws {ScanFallback} where scanInputs reports a fallback (already counted).
   */
  scanDetailed(
    flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, opts: { lines?: boolean } = {},
  ): Promise<Map<string, Origin>> {
    return this.scan(flags, info, cwd, env, opts);
  }

  /** The files of the compile `key` names from its manifest when it still holds (see scanInputs), else undefined. */
  private fromManifest(key: string): string[] | undefined {
    const m = this.manifests!.get(key);
    if (m === undefined) return undefined;
    const t0 = performance.now();
    const counters = this.statsOf.counters;
    this.fs.newEpoch();
    for (const [p, st] of m.stats) {
      if (!sameVersion(this.fs.statPath(p), st)) {
        this.manifests!.delete(key);
        this.manifestPaths -= m.stats.length;
        counters.manifestStale++;
        counters.scanMs += performance.now() - t0;
        return undefined;
      }
    }
    counters.scans++;
    counters.scansOk++;
    counters.manifestHits++;
    counters.scanMs += performance.now() - t0;
    return [...m.files];
  }

  /** Keeps the manifest of a successful scan of `key` unless a path it saw changed too recently to trust its mtime. */
  private remember(key: string, files: Map<string, Origin>, seen: Map<string, StatInfo | undefined>): void {
    const now = Date.now();
    for (const st of seen.values()) if (st !== undefined && now - st.mtimeMs < RACY_MS) return;
    if (this.manifests!.size >= MAX_MANIFESTS || this.manifestPaths + seen.size > MAX_MANIFEST_PATHS) {
      this.manifests!.clear();
      this.manifestPaths = 0;
    }
    const old = this.manifests!.get(key);
    if (old !== undefined) this.manifestPaths -= old.stats.length;
    this.manifests!.set(key, { files: [...files.keys()], stats: [...seen] });
    this.manifestPaths += seen.size;
  }

  /** One scan (scanDetailed's); with `manifestKey`, its stats are recorded and a success leaves a manifest. */
  private async scan(
    flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, opts: { lines?: boolean },
    manifestKey?: string,
  ): Promise<Map<string, Origin>> {
    const t0 = performance.now();
    const counters = this.statsOf.counters;
    counters.scans++;
    try {
      if (flags.unsupported !== undefined) throw new ScanFallback("unsupported", flags.unsupported);
      const pp = ppOptions(flags.args);
      if (pp.unsupported !== undefined) throw new ScanFallback("unsupported", pp.unsupported);
      const probe = await this.probes.get(info, flags.lang, pp.probeArgs, flags.infoFlags, cwd, env);
      for (let round = 0; ; round++) {
        // A round runs synchronously from its new epoch to its end: what it records is its own.
        if (manifestKey !== undefined) this.fs.record();
        let scanner: Scanner;
        let files: Map<string, Origin> | undefined;
        let error: unknown;
        let seen: Map<string, StatInfo | undefined>;
        try {
          const setup = this.prepare(flags, info, cwd, env, pp, probe, opts.lines);
          scanner = new Scanner(setup);
          try {
            files = scanTranslationUnit(scanner, setup);
          } catch (e) {
            error = e;
          }
        } finally {
          seen = this.fs.endRecord();
        }
        if (scanner.unknownQueries.size === 0) {
          if (error !== undefined) throw error;
          counters.scansOk++;
          if (manifestKey !== undefined) this.remember(manifestKey, files!, seen);
          return files!;
        }
        if (round >= MAX_QUERY_ROUNDS) throw new ScanFallback("probe", `no stable answers for ${[...scanner.unknownQueries].join(", ")}`);
        counters.queryRounds++;
        await this.probes.answer(probe, [...scanner.unknownQueries], cwd);
      }
    } catch (e) {
      this.statsOf.countFallback(e instanceof ScanFallback ? e.kind : "internal");
      throw e;
    } finally {
      counters.scanMs += performance.now() - t0;
    }
  }

  /** Starts a scan epoch and puts together what one scan needs. */
  private prepare(
    flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, pp: PpOptions, probe: Probe,
    lines?: boolean,
  ): ScanSetup {
    this.fs.newEpoch();
    const rules = includeRulesOf(info.family);
    if (rules === undefined) throw new ScanFallback("unsupported", `compiler type ${JSON.stringify(info.family)} has no include rules`);
    const search = buildSearchPath(rules, flags.lang, cwd, env, probe.std, pp.dirs,
      flags.sysroot === undefined ? undefined : path.resolve(cwd, flags.sysroot), this.fs);
    return { rules, cwd, input: flags.input, probe, search, pp, lines, caches: this.caches };
  }

  /**
   * This processor's counters and cache sizes since it was built, for the proxy's dashboard:
   * `scans`, `scansOk`, `fallbacks`, `fallback.<kind>` (error, unsupported, probe, io, internal),
   * `probes`, `probeCacheHits`, `queryRounds`, `fileHits`/`fileReads`, `bytesRead`, `listingHits`/`listingReads`,
   * `lookups`/`lookupHits`, `condHits`, `stats`, `guardSkips`, `onceSkips`, `manifestHits`/`manifestStale`, `scanMs`, and `cache.files`/`cache.dirs`/`cache.stats` (entries).
   */
  stats(): Record<string, number> {
    const counters = this.statsOf.counters;
    const out: Record<string, number> = { ...counters, ...this.fs.sizes() };
    for (const [k, v] of this.statsOf.fallbackByKind) out[`fallback.${k}`] = v;
    out.scanMs = Math.round(counters.scanMs);
    return out;
  }

  /**
   * The stat of `path` (absolute, normalized, as scanInputs lists it) taken by the latest scan (or
   * manifest check) — of this compile when asked right after its successful scanInputs, or of a later
   * one — without a new stat; undefined when that scan did not stat it. The proxy's FileHashCache uses
   * it instead of stat'ing every input a second time.
   */
  seenStat(path: string): { dev: number; ino: number; size: number; mtimeMs: number; dir: boolean } | undefined {
    return this.fs.seenStat(path);
  }

  /** Forgets every file, directory and lookup cache, keeping the compiler probes (cold-scan measurements). */
  clearFileCaches(): void {
    this.fs.clear();
    this.lookups.clear();
    this.manifests?.clear();
    this.manifestPaths = 0;
  }

  /** Forgets every cache and in-memory probe (cold-start measurements; the on-disk probes stay). */
  reset(): void {
    this.clearFileCaches();
    this.probes.clear();
  }
}
