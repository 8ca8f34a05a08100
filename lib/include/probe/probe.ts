/**
 * Asks the compiler what the scanner cannot know by itself, once per (compiler, language, probe
 * arguments): one `-x <lang> -E -dM -v -MD` run over a generated input gives
 *
 * - the predefined macros for *these* code-generation flags (`-O2` → `__OPTIMIZE__`, which decides
 *   whether glibc's `<stdio.h>` includes `<bits/stdio.h>`; `-fopenmp`, `-march`, `-fPIC`…) — CompilerInfo's
 *   `predefinedMacros` is probed with the info flags only, so it cannot answer these;
 * - the standard search dirs (`-v`), probed without include options and without the include env vars,
 *   so fs/search-path.ts can apply gcc's and clang's own merging rules to the command's dirs;
 * - the files the compiler includes by itself (`-MD`: gcc's implicit `stdc-predef.h`);
 * - which builtin operators exist (`#ifdef __has_include`, `__has_feature`…);
 * - whether trigraphs are replaced (`#define __goma_trigraph ??=` reads back as `#` or as `??=`): the
 *   rule depends on the standard, GNU mode and `-trigraphs`, and the compiler knows it exactly;
 * - the values of `__has_builtin(x)`, `__has_attribute(x)`, `__has_cpp_attribute(x)`… for the operands
 *   met so far. Their values are read bit by bit (`#if ((op(x)) >> k) & 1` → `#define`), since `-dM`
 *   prints definitions, not values. New operands are answered by a later round ({@link ProbeCache.answer}).
 *   `__building_module(M)` is such a query too: 0 outside a module build, as the probe (run with the
 *   command's `-fmodule-name`) says.
 *
 * Spec: Goma `client/cxx/clang_compiler_info_builder_helper.cc` (`__has_*` tables captured per
 * compiler), reference/goma-protocol.md §5 (CompilerInfo).
 */
import * as path from "node:path";
import { depsOf, parseMakeDeps } from "../../compiler/make-deps.ts";
import { parseSearchList } from "../../compiler/probe-compiler.ts";
import type { CompilerInfo, Lang } from "../../compiler/types.ts";
import type { ExprOptions } from "../pp/expr.ts";
import type { LexMode } from "../pp/lexer.ts";
import { parseDefines, type BuiltinKind, type Macro } from "../pp/macros.ts";
import { QUERY_SEED } from "./query-seed.ts";
import { loadProbeRun, storeProbeRun } from "./probe-cache.ts";
import { runProbe, type ProbeRun } from "./probe-run.ts";
import type { ScanCounters } from "../stats.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { includeRulesOf } from "../../compiler/registry.ts";
import { hasRelativePathFlag } from "../../compiler/compiler-info.ts";

/** What one probe found (answers grow with later rounds). */
export interface Probe {
  macros: ReadonlyMap<string, Macro>;
  /** Builtin macros and operators the compiler defines, with how the scanner treats each. */
  builtins: ReadonlyMap<string, BuiltinKind>;
  std: { quote: string[]; system: string[] };
  /** Files the compiler includes before the source by itself (absolute): gcc's stdc-predef.h. */
  preincludes: string[];
  /**
   * Files the compiler lists as dependencies but never preprocesses — clang's `ExtraDeps`: sanitizer
   * ignorelists (`-fsanitize=address` adds the resource dir's asan_ignorelist.txt,
   * `-fsanitize-ignorelist=`), `-fprofile-list=` files — as it printed them (a relative one is relative
   * to the compile's cwd). clang lists them before the main file; gcc has none and lists the main
   * file first.
   */
  extraDeps: string[];
  /** `op(arg)` → value; NaN when the compiler reports an error for it. */
  answers: Map<string, number>;
  mode: LexMode;
  /** A short key of `mode` for the per-file cache. */
  modeKey: string;
  expr: ExprOptions;
  /** A short key of this probe, unique within its {@link ProbeCache}: the `#if` memo's context (pp/cond-memo.ts). */
  id: string;
}

const CANDIDATES: Record<string, BuiltinKind> = {
  __has_include: "has_include", __has_include_next: "has_include",
  __has_builtin: "query", __has_attribute: "query", __has_cpp_attribute: "query", __has_c_attribute: "query",
  __has_feature: "query", __has_extension: "query", __has_warning: "query", __has_declspec_attribute: "query",
  __is_identifier: "query", __has_constexpr_builtin: "query",
  __is_target_arch: "unknown", __is_target_vendor: "unknown", __is_target_os: "unknown",
  __is_target_environment: "unknown", __is_target_variant_os: "unknown", __is_target_variant_environment: "unknown",
  __building_module: "query", __has_embed: "unknown", __has_module: "unknown",
  __LINE__: "__LINE__", __FILE__: "__FILE__", __COUNTER__: "__COUNTER__", __INCLUDE_LEVEL__: "__INCLUDE_LEVEL__",
  __BASE_FILE__: "__BASE_FILE__", __FILE_NAME__: "__FILE_NAME__", __DATE__: "__DATE__", __TIME__: "__TIME__",
  __TIMESTAMP__: "__TIMESTAMP__",
};
const VALUE_BITS = 24;
/** One line (so query line numbers stay as counted): its body reads `#` where trigraphs are replaced. */
const TRIGRAPH_PROBE = "#define __goma_trigraph ??=\n";
const PLAIN_MODE: LexMode = { rawStrings: false, digitSeparators: false };
/**
 * Probe arguments naming a file the compiler reads while preprocessing (clang's sanitizer and XRay
 * lists, listed as ExtraDeps) by a relative path: the probe then depends on the compile's cwd.
 * (The info flags' paths — `--sysroot`, `-B`… — are compiler-info.ts's hasRelativePathFlag.)
 */
const RELATIVE_FILE_ARG = /^-f(sanitize-(system-)?(ignorelist|blacklist)|sanitize-coverage-(allowlist|ignorelist|whitelist|blacklist)|xray-(always-instrument|never-instrument|attr-list))=[^/]/;
const DROP_ENV = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH", "DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"];

interface Entry {
  probe: Promise<Probe>;
  /** Serializes query rounds of this probe. */
  rounds: Promise<void>;
  /** Runs the probe's compiler on `source` in `cwd`. */
  run: (source: string, cwd: string) => Promise<ProbeRun>;
}

/**
 * The compiler probes of one IncludeProcessor: one per (compiler, language, probe arguments, the env
 * vars the compiler reads, and the cwd when an argument names a path relative to it), in memory for
 * the processor's life and, when `cacheDir` is set, on disk for the next process (probe-cache.ts).
 *
 * Every run happens in the cwd of the compile that needs it — the first round in the one that made
 * the probe, a later query round in the one whose scan met the new operands — never in a remembered
 * directory, which may be gone by then. The command's own relative `-I`/`-iquote`/`-isystem`/
 * `-idirafter` dirs are not probe arguments: each scan resolves them against its own cwd
 * (fs/search-path.ts).
 */
export class ProbeCache {
  private readonly probes = new Map<string, Entry>();
  private readonly entryOf = new WeakMap<Probe, Entry>();
  /** Every query key asked of this cache: a new probe answers them all in its first round. */
  private readonly knownKeys = new Set<string>();
  private nextId = 1;

  /**
   * @param counters the processor's counters (`probes`, `probeCacheHits`).
   * @param cacheDir where first probe runs are kept across processes (`$GOMA_CACHE_DIR/include_probe`); undefined: memory only.
   */
  constructor(private readonly counters: ScanCounters, private readonly cacheDir?: string) {}

  /**
   * The probe for a compile, from memory or by running the compiler once (in `cwd`).
   * @param probeArgs PpOptions.probeArgs of the command.
   * @param cwd the compile's cwd: where a first run happens; part of the key only when an info flag or a
   *   probe argument has a relative path value.
   * @throws {ScanFallback} "probe" when the compiler fails or prints no search list.
   */
  get(
    info: CompilerInfo, lang: Lang, probeArgs: readonly string[], infoFlags: readonly string[], cwd: string,
    env: Record<string, string>,
  ): Promise<Probe> {
    const relative = hasRelativePathFlag(infoFlags) || probeArgs.some((a) => RELATIVE_FILE_ARG.test(a));
    const key = [info.localPath, info.hash, lang, ...probeArgs, env.GCC_EXEC_PREFIX ?? "", env.COMPILER_PATH ?? "",
      relative ? cwd : ""].join("\0");
    let e = this.probes.get(key);
    if (e === undefined) {
      const runEnv: Record<string, string> = { ...env, LC_ALL: "C" };
      for (const v of DROP_ENV) delete runEnv[v];
      const argv = [info.localPath, ...probeArgs, "-x", lang, "-E", "-dM", "-v"];
      const run = (source: string, runCwd: string) => {
        this.counters.probes++;
        return runProbe(argv, source, runCwd, runEnv);
      };
      const entry: Entry = { probe: undefined as unknown as Promise<Probe>, rounds: Promise.resolve(), run };
      entry.probe = this.firstRound(run, info, cwd, key, (p) => this.entryOf.set(p, entry));
      e = entry;
      this.probes.set(key, entry);
      entry.probe.catch(() => this.probes.delete(key));
    }
    return e.probe;
  }

  /**
   * Answers new `op(arg)` keys (`"__has_builtin(__builtin_expect)"`) with one more compiler run, in
   * `cwd`: the directory of the compile that asks (it exists; the one of the compile that made the
   * probe may be gone). A probe whose answers depend on the cwd is kept per cwd (see get()), so this is
   * the probe's own cwd then.
   */
  async answer(probe: Probe, keys: readonly string[], cwd: string): Promise<void> {
    const entry = this.entryOf.get(probe);
    if (!entry) throw new ScanFallback("probe", "the compiler probe was dropped");
    const next = entry.rounds.then(async () => {
      const todo = keys.filter((k) => !probe.answers.has(k));
      if (todo.length === 0) return;
      for (const k of todo) if (this.knownKeys.size < 10_000) this.knownKeys.add(k);
      const { source, lines } = querySource(todo, 1);
      const r = await entry.run(source, cwd);
      readAnswers(r.stdout, r.stderr, todo, lines, probe.answers);
    });
    entry.rounds = next.catch(() => undefined);
    await next;
  }

  /** Forgets every probe and query key (cold-start measurements; the disk cache stays). */
  clear(): void {
    this.probes.clear();
    this.knownKeys.clear();
  }

  private async firstRound(run: Entry["run"], info: CompilerInfo, cwd: string, key: string, onProbe: (p: Probe) => void): Promise<Probe> {
    const names = Object.keys(CANDIDATES);
    const stored = loadProbeRun(this.cacheDir, key);
    const keys = stored?.keys ?? [...new Set([...QUERY_SEED, ...this.knownKeys])];
    const queries = querySource(keys, 3 * names.length + 2);
    let r: ProbeRun;
    if (stored !== undefined) {
      this.counters.probeCacheHits++;
      r = stored.run;
    } else {
      const ops = names.map((n, i) => `#ifdef ${n}\n#define __goma_op_${i} 1\n#endif\n`).join("");
      r = await run(ops + TRIGRAPH_PROBE + queries.source, cwd);
    }
    const lists = parseSearchList(r.stderr, cwd);
    if (!lists) throw new ScanFallback("probe", `${info.name} -E -v printed no include search list: ${r.stderr.slice(0, 500)}`);
    const all = parseDefines(r.stdout, PLAIN_MODE, "<predefined>");
    const builtins = new Map<string, BuiltinKind>();
    names.forEach((n, i) => {
      if (all.has(`__goma_op_${i}`)) builtins.set(n, CANDIDATES[n]!);
    });
    const macros = new Map<string, Macro>();
    for (const [k, m] of all) if (!k.startsWith("__goma_")) macros.set(k, m);
    const deps = depsOf(parseMakeDeps(r.deps));
    const at = deps.findIndex((d) => path.resolve(cwd, d) === r.source);
    const extraDeps = at > 0 ? deps.slice(0, at) : [];
    const preincludes = deps.slice(at > 0 ? at : 0).map((d) => path.resolve(cwd, d)).filter((d) => d !== r.source);
    const answers = new Map<string, number>();
    readAnswers(r.stdout, r.stderr, keys, queries.lines, answers);
    const trigraphs = all.get("__goma_trigraph")?.body[0]?.t === "#";
    const probe: Probe = { ...makeProbe(info, macros, builtins, lists, preincludes, extraDeps, answers, trigraphs), id: String(this.nextId++) };
    if (stored === undefined) {
      storeProbeRun(this.cacheDir, key, info, r, keys, [...lists.quote, ...lists.system], [...preincludes, ...extraDeps.map((d) => path.resolve(cwd, d))]);
    }
    onProbe(probe);
    return probe;
  }
}

/** A Probe from its parts; the lexical mode and expression options follow from the macros. */
function makeProbe(
  info: CompilerInfo, macros: Map<string, Macro>, builtins: Map<string, BuiltinKind>, std: Probe["std"],
  preincludes: string[], extraDeps: string[], answers: Map<string, number>, trigraphs: boolean,
): Omit<Probe, "id"> {
  const num = (name: string) => {
    const t = macros.get(name)?.body[0]?.t;
    return t === undefined ? 0 : parseInt(t, 10) || 0;
  };
  const cxx = macros.has("__cplusplus");
  const cpp = num("__cplusplus");
  const stdc = num("__STDC_VERSION__");
  const strict = macros.has("__STRICT_ANSI__");
  const mode: LexMode = {
    rawStrings: cxx ? cpp >= 201103 : includeRulesOf(info.family)?.rawStringsInGnuC === true && !strict && stdc >= 199901,
    digitSeparators: cxx ? cpp >= 201402 : stdc > 201710,
    trigraphs,
  };
  return {
    macros, builtins, std, preincludes, extraDeps, answers, mode,
    modeKey: `${mode.rawStrings ? "r" : ""}${mode.digitSeparators ? "d" : ""}${trigraphs ? "t" : ""}`,
    expr: { cxx, charUnsigned: macros.has("__CHAR_UNSIGNED__"), intmaxBits: num("__INTMAX_WIDTH__") || 64 },
  };
}

/** The probe input for query keys starting at line `line`, and the line range of each (to attribute compiler errors). */
function querySource(keys: readonly string[], line: number): { source: string; lines: [number, number][] } {
  let source = "";
  const lines: [number, number][] = [];
  keys.forEach((key, i) => {
    const op = key.slice(0, key.indexOf("("));
    let s = `#ifdef ${op}\n#if ${key}\n#define __goma_q_${i}_nz 1\n`;
    for (let b = 0; b < VALUE_BITS; b++) s += `#if ((${key}) >> ${b}) & 1\n#define __goma_q_${i}_b${b} 1\n#endif\n`;
    s += "#endif\n#endif\n";
    const n = s.split("\n").length - 1;
    lines.push([line, line + n - 1]);
    line += n;
    source += s;
  });
  return { source, lines };
}

function readAnswers(stdout: string, stderr: string, keys: readonly string[], lines: [number, number][], into: Map<string, number>): void {
  const defined = new Set<string>();
  for (const m of stdout.matchAll(/^#define (__goma_q_\w+) /gm)) defined.add(m[1]!);
  const bad = new Set<number>();
  for (const m of stderr.matchAll(/^[^\n:]*probe\.c:(\d+):(?:\d+:)? (?:fatal )?error/gm)) bad.add(Number(m[1]));
  keys.forEach((key, i) => {
    const [from, to] = lines[i]!;
    for (const l of bad) {
      if (l >= from && l <= to) {
        into.set(key, NaN);
        return;
      }
    }
    let v = 0;
    if (defined.has(`__goma_q_${i}_nz`)) for (let b = 0; b < VALUE_BITS; b++) if (defined.has(`__goma_q_${i}_b${b}`)) v |= 1 << b;
    into.set(key, v);
  });
}
