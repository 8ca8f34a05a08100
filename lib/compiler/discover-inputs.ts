/**
 * Input discovery by asking the compiler: runs the compile's own command with `-M` instead of its
 * outputs and reads the dependency list. Exact by construction (it is the real preprocessor), at the
 * cost of one preprocessor run per compile; goma's own include scanner (lib/include, later) replaces
 * it where it is faster.
 *
 * Spec: reference/goma-protocol.md §4.2 (SETUP: "Run the include processor to get the required files.
 * If it fails, the task falls back locally") and §5 ("Failure handling").
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { argsOf, scanArgs, splitPreprocessorArgs } from "./flag-scan.ts";
import { depsOf, parseMakeDeps } from "./make-deps.ts";
import { runCaptured } from "./run-captured.ts";
import type { CompilerFlags, CompilerInfo } from "./types.ts";

/**
 * The arguments (after argv[0]) of the `-M` run: the compile's own, without what writes outputs or
 * names dependency targets (`-c`, `-o X`, `-MD`, `-MMD`, `-MF X`, `-MT X`, `-MQ X`, `-MP`, `-M`, `-MM`,
 * `-Wp,-MD,X`, `-Wp,-MMD,X`, `-gsplit-dwarf`; the table's `dropForDeps` rows), then `-M -MF depFile`.
 * Other `-Wp,` sub-options are kept.
 *
 * @example depsArgs(["gcc", "-c", "a.c", "-o", "a.o", "-MD"], "/tmp/d") // ["a.c", "-M", "-MF", "/tmp/d"]
 */
export function depsArgs(args: readonly string[], depFile: string): string[] {
  const out: string[] = [];
  for (const a of scanArgs(args)) {
    if (a.kind === "flag" && a.spec.dropForDeps) continue;
    if (a.kind === "flag" && a.spec.role === "preprocessorArgs") {
      const pp = splitPreprocessorArgs(a.value);
      if (pp.depFile !== undefined) {
        if (pp.rest.length > 0) out.push(`-Wp,${pp.rest.join(",")}`);
        continue;
      }
    }
    out.push(...argsOf(args, a));
  }
  out.push("-M", "-MF", depFile);
  return out;
}

/**
 * Every file the preprocessor reads for this compile (the source, every header including system
 * headers, `-include`/`-imacros` files), from the compiler's own `-M` output.
 *
 * Runs `info.localPath` (so a g++ → gcc link still runs as g++) in `cwd` with the compile's environment
 * (without DEPENDENCIES_OUTPUT/SUNPRO_DEPENDENCIES, which would write a second dep file). The dep file
 * goes to a fresh directory under os.tmpdir(), removed afterwards.
 *
 * @param flags parsed flags of a supported compile (`args` is used).
 * @param info the compiler's info (`localPath` is run).
 * @param cwd the compile's working directory (absolute).
 * @param env the compile's environment.
 * @returns absolute, normalized paths (path.resolve against cwd), de-duplicated, in first-seen order.
 * @throws {GomaError} FailedPrecondition with the compiler's stderr when `-M` fails (a missing header,
 *   a syntax error in a directive): the proxy then compiles locally so the user sees the real error.
 *   NotFound when the compiler cannot be started; DeadlineExceeded when it hangs.
 */
export async function discoverInputs(
  flags: CompilerFlags, info: CompilerInfo, cwd: string, env: Record<string, string>,
): Promise<string[]> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "goma-deps-"));
  try {
    const depFile = path.join(dir, "deps.d");
    const runEnv: Record<string, string> = { ...env };
    delete runEnv.DEPENDENCIES_OUTPUT;
    delete runEnv.SUNPRO_DEPENDENCIES;
    const r = await runCaptured([info.localPath, ...depsArgs(flags.args, depFile)], { cwd, env: runEnv });
    if (r.code !== 0) {
      const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
      throw new GomaError(Code.FailedPrecondition,
        `Failed to list the inputs of ${JSON.stringify(flags.input)}: ${info.name} -M ${how}: ${r.stderr.trim()}`);
    }
    let text: string;
    try {
      text = await fsp.readFile(depFile, "utf8");
    } catch (e) {
      throw new GomaError(Code.FailedPrecondition,
        `Failed to list the inputs of ${JSON.stringify(flags.input)}: ${info.name} -M wrote no dep file`, { cause: e });
    }
    const seen = new Set<string>();
    for (const dep of depsOf(parseMakeDeps(text))) seen.add(path.resolve(cwd, dep));
    return [...seen];
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
