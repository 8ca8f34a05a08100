/**
 * The include scanner's view of the file system, cached across compiles and revalidated cheaply:
 *
 * - every path is `stat`ed at most once per scan (an *epoch*), so a scan sees one consistent state;
 * - a directory's listing is kept while its mtime and inode stay the same; lookups of `dir/name` are
 *   answered from listings (a header that appears later in a directory of the search path changes that
 *   directory's mtime, so a generated header is never missed);
 * - a file's directive list is kept per version, keyed by (device, inode, size, mtime), so the same
 *   file reached through two paths is parsed once;
 * - anything modified less than {@link RACY_MS} before it was read is not trusted in the next epoch
 *   (mtime granularity can hide a second change within the same tick; git's "racy" rule).
 *
 * Synchronous on purpose: a warm scan is hundreds of cache checks, and `fs.*Sync` costs a few µs each
 * where a promise round trip costs tens. The proxy calls the scanner between its async stages.
 *
 * Spec: Goma `client/cxx/include_processor/include_cache.cc`, `client/file_stat_cache.cc`,
 * `client/list_dir_cache.cc`.
 */
import * as fs from "node:fs";
import { lexFile, type LexMode } from "../pp/lexer.ts";
import { parseDirectives, type ParsedFile } from "../pp/directives.ts";
import type { ScanCounters } from "../stats.ts";

/** A file or directory modified this recently (ms) is re-read in every epoch until it ages. */
export const RACY_MS = 2000;

/** What `stat` said about a path in one epoch (undefined: it does not exist or cannot be stat'ed). */
export interface StatInfo {
  dir: boolean;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** A directory's entries as read at one time (replaced by a new object when re-read). */
export interface Listing {
  dir: string;
  stat: StatInfo | undefined;
  /** name → 1 file, 2 directory, 3 must be stat'ed (symlink or unknown type); undefined if not a directory. */
  entries: Map<string, number> | undefined;
  racy: boolean;
  epoch: number;
}

interface Parsed {
  file: ParsedFile;
  racy: boolean;
}

const STAT_OPTS = { throwIfNoEntry: false } as const;
/** At most this many parsed file versions are kept. */
const MAX_FILES = 200_000;

/**
 * The file-system caches of one IncludeProcessor (stats per epoch, directory listings, parsed files
 * per version); they live as long as the processor (the proxy's: the daemon's lifetime).
 *
 * Spec: Goma `client/file_stat_cache.cc`, `client/list_dir_cache.cc`, `include_cache.cc`.
 */
export class FsCache {
  private epoch = 0;
  private readonly stats = new Map<string, { epoch: number; info: StatInfo | undefined }>();
  private readonly listings = new Map<string, Listing>();
  private readonly parsedByVersion = new Map<string, Parsed>();
  private readonly versionOfPath = new Map<string, string>();

  /** @param counters the processor's counters (`stats`, `listingHits`/`listingReads`, `fileHits`/`fileReads`, `bytesRead`). */
  constructor(private readonly counters: ScanCounters) {}

  /** Starts a new epoch: every path will be checked again (once) by the next scan. */
  newEpoch(): void {
    this.epoch++;
  }

  /** While a scan is recorded ({@link record}): every path asked of {@link statPath} and its answer. */
  private recording: Map<string, StatInfo | undefined> | undefined;

  /**
   * Records, until {@link endRecord}, every path {@link statPath} is asked about and what it answered (a
   * hit of the epoch's cache too). Every observation a scan makes of the file system goes through
   * statPath — a file's content is read by its stat's version, a listing by its directory's stat — so a
   * scan's answer is a function of its inputs and of these stats (the include manifest's premise).
   */
  record(): void {
    this.recording = new Map();
  }

  /** Stops recording and returns what was recorded (empty when {@link record} was not called). */
  endRecord(): Map<string, StatInfo | undefined> {
    const r = this.recording ?? new Map<string, StatInfo | undefined>();
    this.recording = undefined;
    return r;
  }

  /**
   * What `stat(path)` said in the current epoch, without a new stat: undefined when the path was not
   * stat'ed in this epoch, or does not exist.
   */
  seenStat(path: string): StatInfo | undefined {
    const hit = this.stats.get(path);
    return hit !== undefined && hit.epoch === this.epoch ? hit.info : undefined;
  }

  /** `stat(path)` (following symlinks), once per epoch. */
  statPath(path: string): StatInfo | undefined {
    const info = this.statOnce(path);
    if (this.recording !== undefined) this.recording.set(path, info);
    return info;
  }

  private statOnce(path: string): StatInfo | undefined {
    const hit = this.stats.get(path);
    if (hit !== undefined && hit.epoch === this.epoch) return hit.info;
    let info: StatInfo | undefined;
    this.counters.stats++;
    try {
      const s = fs.statSync(path, STAT_OPTS);
      if (s) info = { dir: s.isDirectory(), dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      info = undefined; // EACCES, ENOTDIR, ELOOP: not usable, as for the compiler's open()
    }
    this.stats.set(path, { epoch: this.epoch, info });
    return info;
  }

  /** The listing of a directory (absolute path), revalidated once per epoch by its stat. */
  private listing(dir: string): Listing {
    let l = this.listings.get(dir);
    if (l !== undefined && l.epoch === this.epoch) return l;
    const st = this.statPath(dir);
    if (l !== undefined && !l.racy && sameVersion(l.stat, st)) {
      l.epoch = this.epoch;
      this.counters.listingHits++;
      return l;
    }
    this.counters.listingReads++;
    let entries: Map<string, number> | undefined;
    if (st?.dir) {
      entries = new Map();
      try {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          entries.set(e.name, e.isDirectory() ? 2 : e.isFile() ? 1 : e.isSymbolicLink() ? 3 : e.isFIFO() || e.isCharacterDevice() ? 1 : 3);
        }
      } catch {
        entries = undefined;
      }
    }
    l = { dir, stat: st, entries, racy: st !== undefined && Date.now() - st.mtimeMs < RACY_MS, epoch: this.epoch };
    this.listings.set(dir, l);
    return l;
  }

  /**
   * Is `dir/name` a file the compiler could open (anything but a directory)? `name` may have several
   * components (`sys/types.h`); `.`/`..` components and symlinks are resolved by `stat`, as the kernel
   * would resolve them.
   *
   * @param dir an absolute directory path, not necessarily normalized (`/a/b/../c` is resolved physically).
   * @param deps when given, receives the listings consulted; `ok` is cleared when the answer also
   *   depended on a `stat` (a symlink, `..`), which a listing's validity does not cover.
   */
  isFileIn(dir: string, name: string, deps?: LookupDeps): boolean {
    let cur = dir;
    const parts = name.split("/");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      if (part === "" && !last) continue;
      if (part === "" || part === "." || part === "..") {
        if (deps) deps.ok = false;
        const st = this.statPath(`${dir}/${name}`);
        return st !== undefined && !st.dir;
      }
      const l = this.listing(cur);
      if (deps) deps.list.push(l);
      const kind = l.entries?.get(part);
      const next = `${cur}/${part}`;
      if (kind === undefined) return false;
      if (kind === 3) {
        if (deps) deps.ok = false;
        const st = this.statPath(next);
        if (st === undefined || st.dir === last) return false;
      } else if (last ? kind !== 1 : kind !== 2) {
        return false;
      }
      cur = next;
    }
    return true;
  }

  /** Is this listing still the directory's current one (revalidated once per epoch)? */
  listingCurrent(l: Listing): boolean {
    return this.listing(l.dir) === l;
  }

  /**
   * The parsed directives of a file (absolute path) and its identity, from the cache when the file's
   * (device, inode, size, mtime) are unchanged.
   *
   * @returns undefined when the file cannot be read.
   */
  parsedFile(path: string, mode: LexMode, modeKey: string): { file: ParsedFile; id: string } | undefined {
    const st = this.statPath(path);
    if (st === undefined || st.dir) return undefined;
    const id = `${st.dev}:${st.ino}`;
    const version = `${id}:${st.size}:${st.mtimeMs}:${modeKey}`;
    const pathKey = `${path}\0${modeKey}`;
    const hit = this.parsedByVersion.get(version);
    if (hit !== undefined && (!hit.racy || this.versionOfPath.get(pathKey) === `${this.epoch}\0${version}`)) {
      this.counters.fileHits++;
      return { file: hit.file, id };
    }
    let text: string;
    try {
      text = fs.readFileSync(path, "latin1");
    } catch {
      return undefined;
    }
    this.counters.fileReads++;
    this.counters.bytesRead += text.length;
    const file = parseDirectives(lexFile(text, mode), mode);
    const old = this.versionOfPath.get(pathKey);
    if (old !== undefined) this.parsedByVersion.delete(old.slice(old.indexOf("\0") + 1));
    if (this.parsedByVersion.size >= MAX_FILES) {
      this.parsedByVersion.clear(); // a crude bound: Goma keeps ~140k files for all of Chromium
      this.versionOfPath.clear();
    }
    this.parsedByVersion.set(version, { file, racy: Date.now() - st.mtimeMs < RACY_MS });
    this.versionOfPath.set(pathKey, `${this.epoch}\0${version}`);
    return { file, id };
  }

  /** Sizes of the caches, for the dashboard: `cache.files`, `cache.dirs`, `cache.stats` (entries). */
  sizes(): Record<string, number> {
    return { "cache.files": this.parsedByVersion.size, "cache.dirs": this.listings.size, "cache.stats": this.stats.size };
  }

  /** Drops every cache (cold-scan measurements). */
  clear(): void {
    this.stats.clear();
    this.listings.clear();
    this.parsedByVersion.clear();
    this.versionOfPath.clear();
    this.epoch++;
  }
}

/** What a lookup's answer depends on (see {@link FsCache.isFileIn}). */
export interface LookupDeps {
  list: Listing[];
  ok: boolean;
}

/** True when two stats show the same version of a path (same device, inode, size, mtime and kind), or both no file. */
export function sameVersion(a: StatInfo | undefined, b: StatInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size && a.dir === b.dir;
}
