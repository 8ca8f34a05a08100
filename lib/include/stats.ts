/**
 * Counters of one IncludeProcessor since it was built (the proxy's: since the daemon started), shown
 * on the proxy's dashboard through `IncludeProcessor.stats()`. Plain numbers in one mutable object:
 * the scanner runs on one thread.
 */

/** Every counter the scanner keeps (all start at 0); one object per IncludeProcessor. */
export type ScanCounters = ReturnType<typeof newCounters>;

/** A fresh set of counters, all 0. */
export function newCounters() {
  return {
    /** scanInputs calls. */
    scans: 0,
    /** Scans that gave an input list. */
    scansOk: 0,
    /** Scans that gave up (the proxy ran -M instead); by kind in `fallbackByKind`. */
    fallbacks: 0,
    /** Extra scan rounds after asking the compiler about `__has_*` operands it had not been asked about. */
    queryRounds: 0,
    /** Compiler probes run (predefined macros, search list, `__has_*` answers), and first probes read from disk instead. */
    probes: 0,
    probeCacheHits: 0,
    /** Files whose directives came from the cache / were read and parsed. */
    fileHits: 0,
    fileReads: 0,
    /** `stat` calls (each path at most once per scan). */
    stats: 0,
    /** Bytes read and lexed (latin1 characters). */
    bytesRead: 0,
    /** Directory listings reused / read. */
    listingHits: 0,
    listingReads: 0,
    /** `#include` and `__has_include` lookups, and those answered by an earlier scan's lookup. */
    lookups: 0,
    lookupHits: 0,
    /** `#if`/`#elif` values reused from an earlier scan (same macro definitions consulted). */
    condHits: 0,
    /** Includes skipped because of an include guard / `#pragma once` or `#import`. */
    guardSkips: 0,
    onceSkips: 0,
    /**
     * scanInputs calls answered by an include manifest (every path the last scan of the same compile
     * consulted still stats the same), and manifests found stale (a path changed: scanned again).
     */
    manifestHits: 0,
    manifestStale: 0,
    /** Total ms spent in scans (wall clock, including probes). */
    scanMs: 0,
  };
}

/** The counters of one IncludeProcessor plus its fallbacks by kind ("error", "unsupported", "probe", "io", "internal"). */
export class ScanStats {
  readonly counters: ScanCounters = newCounters();
  readonly fallbackByKind = new Map<string, number>();

  /** Records one fallback of `kind`. */
  countFallback(kind: string): void {
    this.counters.fallbacks++;
    this.fallbackByKind.set(kind, (this.fallbackByKind.get(kind) ?? 0) + 1);
  }
}
