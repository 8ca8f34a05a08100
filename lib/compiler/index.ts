/**
 * goma's per-compile analysis, what compiler_proxy runs before a remote compile, organised as compiler
 * types (lib/compiler/compiler-type.ts; one folder each: gcc/, clang/, fake/; listed in registry.ts).
 * For the gcc-style types: parse the command ({@link parseFlags}), identify the compiler
 * ({@link getCompilerInfo}, cached on disk) and list the files it reads ({@link discoverInputs}, via
 * the compiler's own `-M`). Code that handles any type asks {@link compilerTypeFor}.
 *
 * Spec: reference/goma-protocol.md §4.2 (INIT, SETUP), §5; reference/style.md §5.2.
 */
export type {
  CompilerFamily, CompilerFlags, CompilerInfo, Lang, Subprogram, ToolchainFile,
} from "./types.ts";
export { parseFlags } from "./parse-flags.ts";
export { getCompilerInfo, compilerInfoKey, hasRelativePathFlag } from "./compiler-info.ts";
export { discoverInputs, depsArgs } from "./discover-inputs.ts";
export { COMPILER_TYPES, compilerTypeOf, compilerTypeNamed, includeRulesOf, isCompilerName, unknownCompilerReason, type CompilerTypeName } from "./registry.ts";
export { compilerTypeFor } from "./implementations.ts";
export { isCxxDriver } from "./gcc-style-names.ts";
export type { CompilerType, CompilerTypeDescriptor, RemotePolicy, IncludeRules, ExecReqNormalizer, InputListing } from "./compiler-type.ts";
export { FLAG_TABLE, type FlagSpec, type FlagForm, type FlagRole } from "./flag-table.ts";
export { expandResponseFiles, splitResponseFile } from "./response-file.ts";
export { parseMakeDeps, depsOf, type MakeRule } from "./make-deps.ts";
export { findCompiler } from "./find-compiler.ts";
export { sha256File, toolchainChain } from "./file-hash.ts";
export { cacheFileOf, clearMemoryCache } from "./info-cache.ts";
export { parseSearchList, versionString } from "./probe-compiler.ts";
