/**
 * The include search path of one compile, built the way gcc and clang build it from `-iquote`, `-I`,
 * `CPATH`, `-isystem`, `C_INCLUDE_PATH`/`CPLUS_INCLUDE_PATH`, the compiler's standard directories and
 * `-idirafter`, including their rules for dropping directories: missing ones and non-directories are
 * ignored, duplicates are detected by (device, inode), and
 *
 * - gcc (incpath.cc `merge_include_chains`): the system chain (`-isystem`, the language's env var, the
 *   standard dirs, `-idirafter`) keeps the first of duplicates; a `-I`/`CPATH` dir that is also a system
 *   dir is dropped ("as it is a non-system directory that duplicates a system directory"), so the
 *   system one keeps its later place; `-iquote` dirs drop system duplicates too, and the last one goes
 *   when it equals the first dir of the `<…>` chain;
 * - clang (InitHeaderSearch.cpp `RemoveDuplicates`): `-iquote` dirs are only de-duplicated among
 *   themselves; in the `-I` + system chain a later duplicate goes, except that a user (`-I`) dir
 *   duplicated by a later system dir is the one removed; and since clang's FileManager names a
 *   directory by its first lookup, the kept entry is spelled as the first of its duplicates was
 *   (`-Ilink` to /usr/include makes headers there `link/stdio.h`).
 *
 * A leading `=` in a directory means the sysroot (gcc); clang's different rules for it are not modelled.
 *
 * Spec: gcc manual "Directory Options", "Environment Variables"; gcc incpath.cc; clang
 * lib/Frontend/InitHeaderSearch.cpp, lib/Driver/ToolChains/Clang.cpp (`addDirectoryList`).
 */
import type { Lang } from "../../compiler/types.ts";
import type { IncludeRules } from "../../compiler/compiler-type.ts";
import type { FsCache } from "./fs-cache.ts";
import type { PpOptions } from "../pp-options.ts";
import { ScanFallback } from "../scan-fallback.ts";

/** One directory of the search path. */
export interface SearchDir {
  /** As the compiler spells it when it builds a header's path (`include`, `/usr/include`). */
  raw: string;
  /** Absolute, not normalized (so `..` is resolved physically by the kernel): for file system calls. */
  fs: string;
}

/** The search path of one compile: quote-only dirs first, then the `<…>` chain. */
export interface SearchPath {
  dirs: SearchDir[];
  /** Index in `dirs` where `#include <…>` starts (the number of quote-only dirs). */
  angleStart: number;
  /** Identifies this path (dirs and their spelling) for the lookup cache. */
  key: string;
}

interface Candidate extends SearchDir {
  id: string;
  user: boolean;
}

/**
 * Builds the search path.
 *
 * @param std the compiler's own quote and system dirs (absolute), as printed by `-E -v` for this
 *   command's code-generation flags but without any include option or include env var.
 * @param rules the compiler type's include rules (lib/compiler/compiler-type.ts): gcc's libcpp or
 *   clang's HeaderSearch construction, and whether `=dir` is modelled.
 * @param files the processor's file-system cache (each dir is `stat`ed through it).
 * @throws {ScanFallback} "unsupported" for an include dir starting with `=` when `rules` do not model it.
 */
export function buildSearchPath(
  rules: IncludeRules, lang: Lang, cwd: string, env: Record<string, string>,
  std: { quote: readonly string[]; system: readonly string[] }, dirs: PpOptions["dirs"], sysroot: string | undefined,
  files: FsCache,
): SearchPath {
  const make = (raw: string, user: boolean): Candidate | undefined => {
    if (raw.startsWith("=") || raw.startsWith("$SYSROOT")) {
      if (!rules.sysrootRelativeDirs) throw new ScanFallback("unsupported", `include dir ${raw}: a sysroot-relative dir is not modelled for this compiler`);
      raw = (sysroot ?? "") + raw.slice(raw.startsWith("=") ? 1 : "$SYSROOT".length);
    }
    const fs = raw.startsWith("/") ? raw : `${cwd}/${raw}`;
    const st = files.statPath(fs);
    if (!st?.dir) return undefined;
    return { raw, fs, id: `${st.dev}:${st.ino}`, user };
  };
  const list = (raws: readonly string[], user: boolean) =>
    raws.map((r) => make(r, user)).filter((c): c is Candidate => c !== undefined);
  const envDirs = (name: string) => {
    const v = env[name];
    return v === undefined ? [] : v.split(":").map((e) => (e === "" ? "." : e));
  };
  const quote = list([...std.quote, ...dirs.quote], true);
  const angle = list([...dirs.angle, ...envDirs("CPATH")], true);
  const system = list([...dirs.system, ...envDirs(lang === "c++" ? "CPLUS_INCLUDE_PATH" : "C_INCLUDE_PATH"), ...std.system], false);
  const after = list(dirs.after, false);
  if (rules.searchPath === "cpp") {
    const out = gccChains(quote, angle, [...system, ...after]);
    return withKey(out.dirs.map(({ raw, fs }) => ({ raw, fs })), out.angleStart);
  }
  // clang's FileManager knows a directory by the name it was first looked up with (cc1 handles -I,
  // then -idirafter, -iquote, -isystem, the env dirs, the standard dirs): a kept duplicate has that name.
  const firstName = new Map<string, Candidate>();
  for (const c of [...angle, ...after, ...quote, ...system]) if (!firstName.has(c.id)) firstName.set(c.id, c);
  const out = clangChains(quote, angle, [...system, ...after]);
  return withKey(out.dirs.map(({ id }) => ({ raw: firstName.get(id)!.raw, fs: firstName.get(id)!.fs })), out.angleStart);
}

function withKey(dirs: SearchDir[], angleStart: number): SearchPath {
  return { dirs, angleStart, key: `${angleStart}\x01${dirs.map((d) => `${d.raw}\x02${d.fs}`).join("\x01")}` };
}

function keepFirst(list: readonly Candidate[], exclude: ReadonlySet<string> = new Set()): Candidate[] {
  const seen = new Set(exclude);
  const out: Candidate[] = [];
  for (const c of list) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c);
  }
  return out;
}

function gccChains(quote: Candidate[], angle: Candidate[], system: Candidate[]): { dirs: Candidate[]; angleStart: number } {
  const sys = keepFirst(system);
  const sysIds = new Set(sys.map((c) => c.id));
  const bracket = keepFirst(angle, sysIds);
  const q = keepFirst(quote, sysIds);
  const join = bracket[0] ?? sys[0];
  if (q.length > 0 && join !== undefined && q[q.length - 1]!.id === join.id) q.pop();
  return { dirs: [...q, ...bracket, ...sys], angleStart: q.length };
}

function clangChains(quote: Candidate[], angle: Candidate[], system: Candidate[]): { dirs: Candidate[]; angleStart: number } {
  const q = keepFirst(quote);
  const rest: Candidate[] = [...keepFirst(angle), ...system];
  for (let i = 0; i < rest.length; i++) {
    const first = rest.findIndex((c) => c.id === rest[i]!.id);
    if (first === i) continue;
    const drop = !rest[i]!.user && rest[first]!.user ? first : i;
    rest.splice(drop, 1);
    i--;
  }
  return { dirs: [...q, ...rest], angleStart: q.length };
}
