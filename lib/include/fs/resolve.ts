/**
 * Where an `#include` finds its file, as gcc and clang decide it:
 *
 * - an absolute name is opened as it is;
 * - `"name"` looks first in the directory of the file that contains the directive (the current
 *   directory for `-include`/`-imacros`), then along the whole search path from the quote dirs;
 * - `<name>` starts at the first `-I` dir;
 * - `#include_next` continues after the directory where the current file was found. For a file found
 *   in its includer's directory, gcc continues from the start of the quote chain (`search_path_head`:
 *   that directory's `next` is the quote chain) while clang falls back to an ordinary lookup; both do
 *   an ordinary lookup from the main file and for a file opened by absolute path.
 *
 * Paths are built like the compilers build them (`dir` + `/` + `name`, the includer's directory being
 * its path up to the last `/`), so `..` and symlinks resolve physically. A lookup is remembered for
 * the rest of the scan, and for later scans while every directory listing it consulted is unchanged
 * (fs-cache.ts revalidates each listing once per scan by its directory's mtime).
 *
 * Spec: gcc libcpp/files.cc (`search_path_head`, `dir_name_of_file`, `append_file_to_dir`);
 * clang lib/Lex/PPDirectives.cpp (`HandleIncludeNextDirective`), lib/Lex/HeaderSearch.cpp (`LookupFile`).
 */
import * as path from "node:path";
import type { IncludeRules } from "../../compiler/compiler-type.ts";
import type { FsCache, Listing, LookupDeps } from "./fs-cache.ts";
import type { SearchPath } from "./search-path.ts";
import type { ScanCounters } from "../stats.ts";

/** `Found.dirIdx` of a file found in its includer's directory (or the cwd, for `-include`). */
export const REL = -1;
/** `Found.dirIdx` of the main file and of a file opened by absolute path. */
export const ABS = -2;

/**
 * Lookups already made in this scan (the same headers are named again and again): key → result,
 * backed by the processor's {@link LookupCache} for what earlier scans found.
 */
export class LookupMemo extends Map<string, Found | null> {
  constructor(readonly cache: LookupCache) {
    super();
  }
}

/** A file found for an include. */
export interface Found {
  /** The path as the compiler spells it (`src/a.h`, `/usr/include/stdio.h`): `__FILE__` and the includer dir. */
  raw: string;
  /** Absolute, not normalized: for file system calls. */
  fs: string;
  /** Index in the search path where it was found, or {@link REL} / {@link ABS}. */
  dirIdx: number;
}

/** Where the including file was found (null for `-include`/`-imacros` files). */
export interface Includer {
  raw: string;
  fs: string;
  dirIdx: number;
  isMain: boolean;
}

/**
 * Finds the file an include names.
 *
 * @param next `#include_next` / `__has_include_next`.
 * @returns undefined when no directory has it (the compiler reports "No such file or directory").
 */
export function resolveInclude(
  rules: IncludeRules, search: SearchPath, cwd: string, name: string, angle: boolean, next: boolean,
  from: Includer | null, memo: LookupMemo,
): Found | undefined {
  const cache = memo.cache;
  cache.counters.lookups++;
  if (name.charCodeAt(0) === 47) {
    const st = cache.fs.statPath(name);
    return st !== undefined && !st.dir ? { raw: name, fs: name, dirIdx: ABS } : undefined;
  }
  let start = -1;
  if (next && from !== null && !from.isMain) {
    if (from.dirIdx >= 0) start = from.dirIdx + 1;
    else if (rules.includeNextFromRelativeStartsAtFirstDir && from.dirIdx === REL) start = 0;
  }
  if (start < 0) {
    if (angle) {
      start = search.angleStart;
    } else {
      const dirRaw = from === null ? "./" : rawDirOf(from.raw);
      const dirFs = from === null ? cwd : from.fs.slice(0, from.fs.lastIndexOf("/"));
      const key = `\0${dirRaw}\0${dirFs}\0${name}`;
      let rel = memo.get(key);
      if (rel === undefined) {
        rel = cache.cached(key, (deps) => (cache.fs.isFileIn(dirFs, name, deps) ? { raw: joinRaw(dirRaw, name), fs: `${dirFs}/${name}`, dirIdx: REL } : null));
        memo.set(key, rel);
      }
      if (rel !== null) return rel;
      start = 0;
    }
  }
  const key = `${start}\0${name}`;
  let found = memo.get(key);
  if (found === undefined) {
    found = cache.cached(`${search.key}\0${key}`, (deps) => {
      const dirs = search.dirs;
      for (let i = start; i < dirs.length; i++) {
        const d = dirs[i]!;
        if (cache.fs.isFileIn(d.fs, name, deps)) return { raw: joinRaw(d.raw, name), fs: `${d.fs}/${name}`, dirIdx: i };
      }
      return null;
    });
    memo.set(key, found);
  }
  return found ?? undefined;
}

/**
 * The lookups of earlier scans of one IncludeProcessor, each valid while every directory listing it
 * consulted is unchanged, and the normalized form of every path found.
 */
export class LookupCache {
  private readonly lookups = new Map<string, { found: Found | null; deps: Listing[] }>();
  private readonly normalizedPaths = new Map<string, string>();

  /** @param fs the processor's file-system cache; @param counters its counters (`lookups`, `lookupHits`). */
  constructor(readonly fs: FsCache, readonly counters: ScanCounters) {}

  /** The remembered answer for `key` if its listings are current, else `compute`'s (remembered when it depends on listings only). */
  cached(key: string, compute: (deps: LookupDeps) => Found | null): Found | null {
    const hit = this.lookups.get(key);
    if (hit !== undefined) {
      let ok = true;
      for (const l of hit.deps) {
        if (!this.fs.listingCurrent(l)) {
          ok = false;
          break;
        }
      }
      if (ok) {
        this.counters.lookupHits++;
        return hit.found;
      }
    }
    const deps: LookupDeps = { list: [], ok: true };
    const found = compute(deps);
    if (deps.ok) {
      if (this.lookups.size >= 500_000) this.lookups.clear();
      this.lookups.set(key, { found, deps: deps.list });
    } else {
      this.lookups.delete(key);
    }
    return found;
  }

  /**
   * `path.resolve` of an absolute file path (what the proxy compares with `-M`'s list), memoized: the
   * same headers are found scan after scan.
   * @example normalizedPath("/usr/include/c++/12/bits/../vector") // "/usr/include/c++/12/vector"
   */
  normalizedPath(fs: string): string {
    let n = this.normalizedPaths.get(fs);
    if (n === undefined) {
      n = path.resolve(fs);
      if (this.normalizedPaths.size > 1_000_000) this.normalizedPaths.clear();
      this.normalizedPaths.set(fs, n);
    }
    return n;
  }

  /** Forgets the lookups of earlier scans. */
  clear(): void {
    this.lookups.clear();
  }
}

/**
 * gcc's `dir_name_of_file`: the path up to and including its last `/` ("" for a bare name).
 * @example rawDirOf("src/a.c") // "src/"
 */
export function rawDirOf(raw: string): string {
  return raw.slice(0, raw.lastIndexOf("/") + 1);
}

/**
 * gcc's `append_file_to_dir`: `dir` + `/` + `name`, without doubling a trailing slash.
 * @example joinRaw("include", "a.h") // "include/a.h"
 */
export function joinRaw(dir: string, name: string): string {
  if (dir === "") return name;
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
