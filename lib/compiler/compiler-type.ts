/**
 * One compiler type as a plug-in (Goma's `CompilerTypeSpecific`, reference/style.md §3 and §5.2): the
 * four parts Goma gives each type — CompilerFlags (the parser), CompilerInfo and its builder, the
 * IncludeProcessor and the ExecReqNormalizer — plus the remote policy goma server needs. Each type lives
 * in `lib/compiler/<type>/` and is listed once in `lib/compiler/registry.ts`.
 *
 * Two tiers, because `goma cc`, goma server and the embedded backend must stay light:
 * - {@link CompilerTypeDescriptor} (`<type>/descriptor.ts`): names, remote policy and include rules as
 *   data. Imports nothing heavy (no flag parser, no protobufjs, no node:crypto); the registry lists these.
 * - {@link CompilerType} (`<type>/index.ts`): the descriptor plus the proxy's parts (parser, info
 *   builder, input lister, normalizer). Reached from a descriptor only through
 *   `lib/compiler/implementations.ts`, which only the proxy (and doctor) import.
 *
 * Spec: Goma `client/compiler_type_specific.h`, `lib/execreq_normalizer.h`, `doc/language_pluggable_system.md`.
 */
import type { IExecReq } from "../goma/proto.ts";
import type { CompilerFlags, CompilerInfo, Lang } from "./types.ts";

/**
 * The include-processing rules of a gcc-style driver that goma's include processor (lib/include)
 * models. Data only: lib/include applies them and never asks which type it is scanning for.
 */
export interface IncludeRules {
  /**
   * `=dir` and `$SYSROOT/dir` include dirs: true when the dir is relative to `--sysroot` and the scanner
   * models that (gcc's `-I=dir`); false when the scan falls back to the compiler's own `-M` (clang).
   */
  sysrootRelativeDirs: boolean;
  /**
   * Which search-path construction the scanner applies: `"cpp"` is gcc's libcpp (`remove_duplicates`:
   * a user dir that is also a system dir is dropped, each dir keeps its own spelling); `"clang"` is
   * clang's HeaderSearch (a dir is known by the name it was first looked up with).
   */
  searchPath: "cpp" | "clang";
  /**
   * `#include_next` in a file that was found relative to its includer (not through a search dir) starts
   * at the first search dir (gcc's libcpp); false: it behaves as `#include` (clang).
   */
  includeNextFromRelativeStartsAtFirstDir: boolean;
  /**
   * Raw string literals (`R"(…)"`) are lexed in C when the dialect is a GNU one of C99 or later (gcc);
   * false: only in C++11 and later (clang).
   */
  rawStringsInGnuC: boolean;
}

/**
 * What goma server needs to run a compile of this type on a worker through its wrapper
 * (lib/server/wrapper.ts), learned from the ExecReq alone. Light: no flag parser.
 */
export interface RemotePolicy {
  /**
   * Where the wrapper puts `-ffile-prefix-map=<exec root>=<client root>` so that the object names the
   * client's paths and the user's own maps still win: `"first"` (after argv[0]; gcc applies the last map
   * given), `"last"` (clang: among equal prefixes the first one given wins), or `"none"` (the compiler
   * takes no such flag: no GOMA_CLIENT_ROOT, no dep-file mapping).
   */
  prefixMap: "first" | "last" | "none";
  /**
   * True when the compiler must run by the client's path (`GOMA_ARGV0`) when the worker reaches it by
   * another: clang finds its installation (gcc's headers, its resource dir) from argv[0] as given.
   */
  keepArgv0: boolean;
  /**
   * The dep file the compile writes, as written in `args` (cwd-relative or absolute), so that the wrapper
   * maps the exec root back to the client's root in it (`GOMA_DEP_FILE`); undefined when none.
   * @param args the ExecReq's `arg` (argv[0] first, response files already expanded by the proxy).
   * @param expectedOutputs the ExecReq's `expected_output_files`.
   */
  depFile(args: readonly string[], expectedOutputs: readonly string[]): string | undefined;
  /**
   * True when the environment variable `name` of the ExecReq can change this type's outputs and so is
   * passed to the compiler (Goma's "server-important" envs); the locale always is.
   */
  forwardsEnv(name: string): boolean;
  /**
   * True when the outputs provably do not depend on where the client's checkout is, so the server leaves
   * the client root (`GOMA_CLIENT_ROOT`) out of the Action and another checkout hits the action cache
   * (issue 12 §4; gcc and clang: lib/compiler/gcc-style-root.ts). Only asked when `prefixMap` is not "none".
   * @param args the Command's arguments with the client root replaced by `token`.
   * @param root the client root (absolute).
   * @param token the root token (`@GOMA_ROOT@`).
   * @param envValues the forwarded environment's values, tokenized too.
   */
  rootIndependent(args: readonly string[], root: string, token: string, envValues: readonly string[]): boolean;
}

/**
 * What a type's input lister is given: the include processor's scan (lib/include `IncludeProcessor`,
 * named by shape here so that lib/compiler does not import lib/include).
 */
export interface IncludeScanner {
  scanInputs(flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>): Promise<InputListing>;
}

/** The light half of a compiler type (see the module comment). */
export interface CompilerTypeDescriptor {
  /** The type's name, e.g. "gcc", "clang", "fake". Stored as CompilerFlags/CompilerInfo `family`. */
  readonly name: string;
  /**
   * True when `base` (argv[0]'s basename, or a REAPI Command's program basename) names a compiler of this
   * type. The registry asks the types in order: first match wins.
   */
  matches(base: string): boolean;
  /**
   * Goma's `CommandSpec.name` for `argv0` as a compiler of this type ("x86_64-linux-gnu-g++-12" → "g++").
   * @param argv0 the compiler as invoked (path or name).
   */
  commandName(argv0: string): string;
  /** What goma server needs. */
  readonly remote: RemotePolicy;
  /** The include processor's rules for a gcc-style type; undefined for a type with its own lister. */
  readonly includeRules?: IncludeRules;
  /**
   * For a gcc-style driver (answers `-dumpversion`, `-E -v` …): how its CompilerInfo probe recognizes it
   * from `--version` and which subprograms it runs. A driver named gcc that answers as clang (macOS) is
   * clang's: the probe asks every gcc-style type in registry order.
   */
  readonly gccStyle?: GccStyleDriver;
  /**
   * Loads the type's full half (its folder's `index.ts`, `export const compilerType`) on demand: only
   * compiler_proxy and doctor call it (lib/compiler/implementations.ts), so what `goma cc`, goma server
   * and the embedded backend load stays the light half (the import-graph tests skip exactly these loaders).
   */
  load(): Promise<{ compilerType: CompilerType }>;
}

/** How a gcc-style driver is recognized and what it runs besides itself (Goma `GCCCompilerInfoBuilder`). */
export interface GccStyleDriver {
  /** True when the first line(s) of `--version` (`stdout`) say this driver; gcc's answers every driver. */
  answersVersion(versionStdout: string): boolean;
  /**
   * The programs `-print-prog-name=` is asked for: gcc runs cc1 (C) or cc1plus (C++) and `as`; clang
   * runs nothing outside itself unless the integrated assembler is off.
   */
  subprogramNames(lang: Lang, infoFlags: readonly string[]): string[];
}

/**
 * The result of listing a compile's inputs (Goma `IncludeProcessorResult`): `files` (normalized absolute
 * paths), or `fallback` (a reason: goma's lister gave up, the compiler's own listing decides; Goma's
 * ErrorToLog).
 */
export type InputListing = { files: string[]; fallback?: undefined } | { files: string[]; fallback: string };

/**
 * The ExecReqNormalizer (Goma `lib/execreq_normalizer.h`): the ExecReq with everything dropped that
 * cannot change the compile's outputs, for the local output cache's key. Pure; must not modify `req`.
 */
export type ExecReqNormalizer = (req: IExecReq) => IExecReq;

/** A whole compiler type: the descriptor plus the parts compiler_proxy runs (see the module comment). */
export interface CompilerType extends CompilerTypeDescriptor {
  /**
   * Parses a command line of this type (Goma `CompilerFlags`). Never throws: what goma cannot run remotely
   * comes back with `unsupported` set to the reason.
   * @param argv argv[0] is the compiler as invoked; `@file` response files are expanded.
   * @param cwd the compile's working directory (absolute).
   */
  parseFlags(argv: string[], cwd: string): CompilerFlags;
  /**
   * The CompilerInfo of the compiler `flags` runs (Goma's CompilerInfoBuilder; cached as the type sees fit).
   * @param cacheDir GOMA_CACHE_DIR.
   * @throws {GomaError} NotFound when the compiler cannot be found; FailedPrecondition when it does not
   *   answer as this type.
   */
  compilerInfo(flags: CompilerFlags, cwd: string, env: Record<string, string>, cacheDir: string): Promise<CompilerInfo>;
  /**
   * goma's own input lister (Goma's IncludeProcessor). Never throws: gives `fallback` when it cannot decide.
   * @param includes the proxy's include processor (lib/include IncludeProcessor, which owns the caches):
   *   gcc and clang hand the scan to it; a type with its own lister (fake) need not use it.
   */
  scanInputs(flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>, includes: IncludeScanner): Promise<InputListing>;
  /**
   * The compiler's own input listing (gcc's `-M`), used when {@link scanInputs} falls back or is off.
   * @throws {GomaError} FailedPrecondition when the compiler fails to list them (the user sees the error
   *   from the local compile).
   */
  discoverInputs(flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>): Promise<string[]>;
  /** The ExecReqNormalizer of this type (the local output cache's key). */
  readonly normalizer: ExecReqNormalizer;
}
