/**
 * Builds and caches {@link CompilerInfo}: finds the compiler, probes it (probe-compiler.ts), hashes
 * it and its subprograms, and lists the toolchain files a remote worker needs to run it.
 *
 * Spec: Goma `client/compiler_info_builder.cc`, `client/compiler_info_cache.cc`;
 * reference/goma-protocol.md §4.2 (SETUP), §5.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { compilerTypeNamed } from "./registry.ts";
import { appendUnique, sha256File, toolchainChain } from "./file-hash.ts";
import { sharedLibraries } from "./shared-libs.ts";
import { findCompiler } from "./find-compiler.ts";
import { lookupInfo, stampOf, storeInfo, type FileStamp } from "./info-cache.ts";
import { probeCompiler } from "./probe-compiler.ts";
import type { CompilerFlags, CompilerInfo, Subprogram, ToolchainFile } from "./types.ts";

/** Environment variables that change the include search lists, hence part of the cache key. */
const KEY_ENVS = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "GCC_EXEC_PREFIX", "COMPILER_PATH"] as const;

/** infoFlags whose value is a path; a relative one makes the key depend on cwd. */
const PATH_INFO_FLAGS = ["--sysroot=", "--sysroot", "-isysroot", "--gcc-toolchain=", "--gcc-toolchain",
  "-gcc-toolchain", "-resource-dir=", "-resource-dir", "-B"];

const inflight = new Map<string, Promise<CompilerInfo>>();

/**
 * The CompilerInfo cache key (Goma `CompilerInfoCache::Key`): localPath, size and mtime of the real
 * binary, family, lang and infoFlags, plus the include-path environment variables that are set and,
 * when an info flag has a relative path value, the cwd.
 *
 * @param real the stamp of `realpath(localPath)`.
 * @internal exported for tests.
 */
export function compilerInfoKey(
  flags: Pick<CompilerFlags, "family" | "lang" | "infoFlags">, localPath: string, real: FileStamp,
  cwd: string, env: Record<string, string>,
): string {
  const parts = [localPath, String(real.size), String(real.mtimeMs), flags.family, flags.lang, flags.infoFlags.join(" ")];
  for (const name of KEY_ENVS) if (env[name] !== undefined) parts.push(`${name}=${env[name]}`);
  if (hasRelativePathFlag(flags.infoFlags)) parts.push(`cwd=${cwd}`);
  return parts.join("\n");
}

/**
 * Whether an info flag has a relative path value (`--sysroot=../sr`, `-B bin`): what such a compiler
 * finds depends on the compile's cwd.
 */
export function hasRelativePathFlag(infoFlags: readonly string[]): boolean {
  for (let i = 0; i < infoFlags.length; i++) {
    const f = infoFlags[i]!;
    for (const name of PATH_INFO_FLAGS) {
      if (!f.startsWith(name)) continue;
      const value = f === name && !name.endsWith("=") ? infoFlags[i + 1] ?? "" : f.slice(name.length);
      if (value !== "" && !path.isAbsolute(value)) return true;
      break;
    }
  }
  return false;
}

/**
 * The CompilerInfo of the compiler that `flags` runs, for its language and info flags: from memory,
 * from `<cacheDir>/compiler_info/`, or by probing the compiler (and then cached). Concurrent calls for
 * the same key share one probe.
 *
 * @param flags parsed flags (`compiler`, `family`, `lang`, `infoFlags` are used).
 * @param cwd the compile's working directory (absolute).
 * @param env the compile's environment (its PATH finds the compiler and `as`).
 * @param cacheDir GOMA_CACHE_DIR; created when missing.
 * @throws {GomaError} NotFound when the compiler is not on PATH (or the given path is not executable);
 *   FailedPrecondition when it does not answer like gcc/clang; DeadlineExceeded when a probe hangs.
 */
export async function getCompilerInfo(
  flags: CompilerFlags, cwd: string, env: Record<string, string>, cacheDir: string,
): Promise<CompilerInfo> {
  const localPath = await findCompiler(flags.compiler, cwd, env);
  const realPath = fs.realpathSync.native(localPath); // sync: every compile asks (see stampOf)
  const real = await stampOf(realPath);
  if (!real) throw new GomaError(Code.NotFound, `Failed to find the compiler ${JSON.stringify(flags.compiler)}: ${realPath} vanished`);
  const key = compilerInfoKey(flags, localPath, real, cwd, env);
  const flightKey = `${cacheDir}\0${key}`;
  let p = inflight.get(flightKey);
  if (!p) {
    p = (async () => {
      const cached = await lookupInfo(cacheDir, key);
      if (cached) return cached;
      const { info, stamps } = await buildInfo(flags, localPath, real, cwd, env);
      await storeInfo(cacheDir, key, stamps, info);
      return info;
    })();
    inflight.set(flightKey, p);
    void p.catch(() => undefined).finally(() => inflight.delete(flightKey));
  }
  return structuredClone(await p);
}

/** Probes and hashes one compiler; returns the info and the stamps it depends on. */
async function buildInfo(
  flags: CompilerFlags, localPath: string, real: FileStamp, cwd: string, env: Record<string, string>,
): Promise<{ info: CompilerInfo; stamps: FileStamp[] }> {
  const realPath = real.path;
  const [probe, toolchain] = await Promise.all([
    probeCompiler(localPath, flags.family, flags.lang, flags.infoFlags, cwd, env),
    toolchainChain(localPath),
  ]);
  const self = toolchain[toolchain.length - 1]!;
  const subprograms: Subprogram[] = [];
  const stampPaths: string[] = [];
  for (const sub of probe.subprogramPaths) {
    const chain = await toolchainChain(sub);
    const realSub = chain[chain.length - 1]!;
    subprograms.push({ path: sub, hash: realSub.hash, size: realSub.size });
    appendUnique(toolchain, chain);
    stampPaths.push(realSub.path);
  }
  // The shared libraries of the compiler and its subprograms (libLLVM for clang, libisl/libmpfr for cc1).
  const binaries = [self.path, ...subprograms.map((s) => s.path)];
  const libs = (await Promise.all(binaries.map((b) => sharedLibraries(b, env)))).flat();
  for (const lib of [...new Set(libs)]) appendUnique(toolchain, await toolchainChain(lib));
  const subStamps = await Promise.all(stampPaths.map(stampOf));
  const stamps = [real, ...subStamps.filter((s): s is FileStamp => s !== undefined)];
  const { hash, size } = self.path === realPath ? self : await sha256File(realPath);
  const info: CompilerInfo = {
    localPath,
    realPath,
    name: compilerTypeNamed(probe.family)!.commandName(flags.compiler),
    family: probe.family,
    lang: flags.lang,
    version: probe.version,
    target: probe.target,
    hash,
    size,
    quoteIncludePaths: probe.quoteIncludePaths,
    systemIncludePaths: probe.systemIncludePaths,
    predefinedMacros: probe.predefinedMacros,
    subprograms,
    toolchain: toolchain satisfies ToolchainFile[],
  };
  return { info, stamps };
}
