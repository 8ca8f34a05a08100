/**
 * One translation unit from the preprocessor's start: the source is listed first, then the command
 * line runs in gcc's and clang's order (the files clang lists without preprocessing them, its
 * sanitizer ignorelists, are added right after the source) — `-D`/`-U` in the order given, every `-imacros` file, the
 * compiler's implicit pre-include (gcc's stdc-predef.h, looked up along the `<…>` chain and skipped
 * when absent, as `cpp_push_default_include` does), every `-include` file — and the source last.
 *
 * Spec: gcc c-family/c-opts.cc (`c_finish_options`, `push_command_line_include`); clang
 * lib/Frontend/InitPreprocessor.cpp (`-imacros` before `-include`).
 */
import * as path from "node:path";
import type { IncludeRules } from "../compiler/compiler-type.ts";
import type { FsCache } from "./fs/fs-cache.ts";
import type { PpOptions } from "./pp-options.ts";
import type { MacroPool, MacroTable } from "./pp/macros.ts";
import type { Probe } from "./probe/probe.ts";
import { ABS, type Found, type LookupCache } from "./fs/resolve.ts";
import { ScanFallback } from "./scan-fallback.ts";
import type { SearchPath } from "./fs/search-path.ts";
import type { ScanCounters } from "./stats.ts";

/** How a file came into the input list (for `goma doctor inputs --explain`). */
export interface Origin {
  how: "source" | "imacros" | "preinclude" | "include-option" | "include" | "include_next" | "import" | "has_include"
    /** A file the compiler reads without preprocessing it and lists in -M (clang's sanitizer ignorelists). */
    | "dependency";
  /** The including file (normalized absolute) and the directive's line; absent for the source and options. */
  from?: string;
  line?: number;
}

/** Everything one scan needs. */
export interface ScanSetup {
  /** The compiler type's include rules (lib/compiler/compiler-type.ts). */
  rules: IncludeRules;
  /** The compile's working directory (absolute). */
  cwd: string;
  /** The source file as given on the command line. */
  input: string;
  probe: Probe;
  search: SearchPath;
  pp: PpOptions;
  /** Record the line of each include in its Origin (costs a newline index per file). */
  lines?: boolean;
  /** The IncludeProcessor's caches and counters this scan reads and fills. */
  caches: ScanCaches;
}

/** The caches one IncludeProcessor keeps across its scans (index.ts), as a scan sees them. */
export interface ScanCaches {
  /** Stats, directory listings and parsed files. */
  fs: FsCache;
  /** Include lookups of earlier scans and normalized paths. */
  lookups: LookupCache;
  /** `-D` and builtin macro objects shared by every scan (the `#if` memo compares them by identity). */
  macros: MacroPool;
  counters: ScanCounters;
}

/** What {@link scanTranslationUnit} needs of a scanner (scanner.ts `Scanner`). */
export interface UnitScanner {
  /** The files found so far: normalized absolute path → origin. */
  readonly files: Map<string, Origin>;
  readonly table: MacroTable;
  /** Enters a file (the main file with `isMain`), scanning its directives. */
  enter(found: Found, origin: Origin, isImport: boolean, isMain?: boolean): void;
  /** Looks up a `-include`/`-imacros` name (or a pre-include along the `<…>` chain with `angle`). */
  lookup(name: string, angle: boolean): Found | undefined;
}

/**
 * Scans a translation unit with `scanner` (made from `s`).
 * @returns normalized absolute path → how it was reached, the source first.
 * @throws {ScanFallback} when the compile would fail or uses something not modelled; the scanner's
 *   `unknownQueries` are still filled in.
 */
export function scanTranslationUnit(scanner: UnitScanner, s: ScanSetup): Map<string, Origin> {
  const mainFs = s.input.startsWith("/") ? s.input : `${s.cwd}/${s.input}`;
  const main: Found = { raw: s.input, fs: mainFs, dirIdx: ABS };
  scanner.files.set(s.caches.lookups.normalizedPath(mainFs), { how: "source" });
  for (const d of s.probe.extraDeps) {
    const abs = path.resolve(s.cwd, d);
    if (s.caches.fs.statPath(abs)?.dir !== false) throw new ScanFallback("error", `${d}: No such file (a dependency the compiler lists)`);
    scanner.files.set(s.caches.lookups.normalizedPath(abs), { how: "dependency" });
  }
  for (const d of s.pp.defines) scanner.table.commandLine(d.kind, d.value, s.probe);
  for (const name of s.pp.imacros) scanner.enter(mustFind(scanner, name, "imacros"), { how: "imacros" }, false);
  for (const abs of s.probe.preincludes) {
    const dir = s.probe.std.system.find((d) => abs.startsWith(`${d}/`));
    const found = scanner.lookup(dir === undefined ? abs : abs.slice(dir.length + 1), true);
    if (found) scanner.enter(found, { how: "preinclude" }, false);
  }
  for (const name of s.pp.includes) scanner.enter(mustFind(scanner, name, "include"), { how: "include-option" }, false);
  scanner.enter(main, { how: "source" }, false, true);
  return scanner.files;
}

function mustFind(scanner: UnitScanner, name: string, option: string): Found {
  const f = scanner.lookup(name, false);
  if (!f) throw new ScanFallback("error", `-${option} ${name}: No such file or directory`);
  return f;
}
