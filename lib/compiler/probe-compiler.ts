/**
 * Asks a gcc or clang driver about itself: version, target, include search lists, predefined macros
 * and subprograms. Runs the independent probes in parallel, with `LC_ALL=C` so the output parses.
 *
 * Spec: Goma `client/cxx/gcc_compiler_info_builder.cc`, `client/cxx/cxx_compiler_info_builder.cc`;
 * reference/goma-protocol.md §5 ("CompilerInfo").
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { COMPILER_TYPES, compilerTypeNamed } from "./registry.ts";
import { findCompiler } from "./find-compiler.ts";
import { commandLine, runCaptured, type CapturedRun } from "./run-captured.ts";
import type { CompilerFamily, Lang } from "./types.ts";

/** What the probes found, before hashing. @internal */
export interface ProbeResult {
  family: CompilerFamily;
  version: string;
  target: string;
  quoteIncludePaths: string[];
  systemIncludePaths: string[];
  predefinedMacros: string;
  /** Absolute paths of the subprograms as found (not resolved through symlinks). */
  subprogramPaths: string[];
}

/**
 * Parses the search lists that `-E -v` prints on stderr. Lines between `#include "..." search starts
 * here:` and `#include <...> search starts here:` are quote dirs; lines from there to `End of search
 * list.` are system dirs. macOS "(framework directory)" lines are left out. Paths are resolved against
 * `cwd` and normalized (`/usr/bin/../lib` → `/usr/lib`).
 *
 * @returns the two lists, or undefined when the output has no search list (not a gcc/clang driver).
 * @example parseSearchList(' #include "..." search starts here:\n#include <...> search starts here:\n /usr/include\nEnd of search list.\n', "/")
 * // { quote: [], system: ["/usr/include"] }
 */
export function parseSearchList(stderr: string, cwd: string): { quote: string[]; system: string[] } | undefined {
  let state: "before" | "quote" | "system" | "done" = "before";
  const quote: string[] = [];
  const system: string[] = [];
  for (const raw of stderr.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith('#include "..." search starts here:')) state = "quote";
    else if (line.startsWith("#include <...> search starts here:")) state = "system";
    else if (line.startsWith("End of search list.")) {
      state = "done";
      break;
    } else if ((state === "quote" || state === "system") && line.startsWith(" ")) {
      const dir = line.trim();
      if (dir.endsWith("(framework directory)")) continue;
      (state === "quote" ? quote : system).push(path.resolve(cwd, dir));
    }
  }
  return state === "done" ? { quote, system } : undefined;
}

/**
 * Goma's version string: `<-dumpversion>[<first line of --version>]`.
 * @example versionString("12\n", "gcc (Debian 12.2.0-14) 12.2.0\nCopyright…") // "12[gcc (Debian 12.2.0-14) 12.2.0]"
 */
export function versionString(dumpversion: string, version: string): string {
  return `${dumpversion.trim()}[${(version.split("\n")[0] ?? "").trim()}]`;
}

/**
 * Runs the probes for one compiler, language and set of info flags.
 *
 * @param localPath absolute path of the compiler (as found, not resolved).
 * @param expected the type the compiler's name suggests (its registry name); `--version` has the last word.
 * @param cwd the compile's cwd: relative paths in `infoFlags` (`--sysroot=../sr`) are relative to it.
 * @param env the compile's environment; `LC_ALL=C` is added, dep-file variables removed.
 * @throws {GomaError} FailedPrecondition (with the command and its stderr) when a probe fails or the
 *   output does not look like gcc or clang; DeadlineExceeded when a probe hangs.
 * @internal used by compiler-info.ts.
 */
export async function probeCompiler(
  localPath: string, expected: CompilerFamily, lang: Lang, infoFlags: readonly string[], cwd: string,
  env: Record<string, string>,
): Promise<ProbeResult> {
  const probeEnv = probeEnvironment(env);
  const run = async (args: string[]): Promise<CapturedRun> => {
    const argv = [localPath, ...args];
    const r = await runCaptured(argv, { cwd, env: probeEnv });
    if (r.code !== 0) {
      const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
      throw new GomaError(Code.FailedPrecondition,
        `Failed to probe compiler "${localPath}": \`${commandLine(argv)}\` ${how}: ${r.stderr.trim()}`);
    }
    return r;
  };
  const progNames = compilerTypeNamed(expected)?.gccStyle?.subprogramNames(lang, infoFlags) ?? [];
  const progs = new Map(progNames.map((n) => [n, run([...infoFlags, `-print-prog-name=${n}`])]));
  progs.forEach((p) => p.catch(() => undefined)); // awaited below, or unused if the family differs
  const [dumpversion, version, machine, search, macros] = await Promise.all([
    run(["-dumpversion"]),
    run(["--version"]),
    run([...infoFlags, "-dumpmachine"]),
    run([...infoFlags, "-x", lang, "-E", "-v", "/dev/null", "-o", "/dev/null"]),
    run([...infoFlags, "-x", lang, "-dM", "-E", "/dev/null"]),
  ]);
  const fail = (what: string) =>
    new GomaError(Code.FailedPrecondition, `Failed to probe compiler "${localPath}": it does not answer like gcc or clang: ${what}`);
  const dv = dumpversion.stdout.trim();
  if (!/^\d+(\.\d+)*$/.test(dv)) throw fail(`-dumpversion printed ${JSON.stringify(dv.slice(0, 80))}`);
  const lists = parseSearchList(search.stderr, cwd);
  if (!lists) throw fail("`-E -v` printed no include search list");
  const target = machine.stdout.trim();
  if (target === "") throw fail("-dumpmachine printed nothing");

  // The first gcc-style type, in registry order, that the `--version` answer names (gcc's takes any).
  const answered = COMPILER_TYPES.find((t) => t.gccStyle?.answersVersion(version.stdout));
  if (!answered?.gccStyle) throw fail("no gcc-style compiler type recognizes its --version");
  const family: CompilerFamily = answered.name;
  const subprogramPaths: string[] = [];
  for (const name of answered.gccStyle.subprogramNames(lang, infoFlags)) {
    const r = await (progs.get(name) ?? run([...infoFlags, `-print-prog-name=${name}`]));
    const found = await locateProgram(r.stdout.trim(), cwd, env);
    if (found !== undefined) subprogramPaths.push(found);
  }
  return {
    family, version: versionString(dv, version.stdout), target,
    quoteIncludePaths: lists.quote, systemIncludePaths: lists.system,
    predefinedMacros: macros.stdout, subprogramPaths,
  };
}

/** The environment for probes: the compile's, with `LC_ALL=C` and without dep-file side outputs. @internal */
export function probeEnvironment(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...env, LC_ALL: "C" };
  delete out.DEPENDENCIES_OUTPUT;
  delete out.SUNPRO_DEPENDENCIES;
  return out;
}

/**
 * A `-print-prog-name` answer as an absolute path: a path (relative to cwd) if it has a slash, else
 * the program found on PATH, as the driver would run it. Undefined when it does not exist.
 */
async function locateProgram(answer: string, cwd: string, env: Record<string, string>): Promise<string | undefined> {
  if (answer === "") return undefined;
  if (answer.includes("/")) {
    // "/usr/bin/../lib/gcc/…/cc1": resolve the directory physically (it may pass through symlinks),
    // keep the file itself unresolved so its own symlink chain is listed.
    const abs = path.resolve(cwd, answer);
    try {
      const found = path.join(await fsp.realpath(path.dirname(abs)), path.basename(abs));
      await fsp.stat(found);
      return found;
    } catch {
      return undefined;
    }
  }
  try {
    return await findCompiler(answer, cwd, env);
  } catch {
    return undefined; // the driver would not find it either; the compile will say so
  }
}
