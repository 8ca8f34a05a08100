/**
 * Finds the local compiler the way the requester's shell would: argv[0] with a slash is a path relative
 * to the compile's cwd, a bare name is looked up on the compile's own PATH. goma itself (a masquerading
 * `gcc` → goma link) is skipped, so goma never runs itself as the compiler.
 *
 * Spec: Goma compile_task INIT ("Find the local compiler in the requester's PATH, skipping gomacc");
 * reference/goma-protocol.md §4.2.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { gomaRealPath } from "../cc/masquerade.ts";

/** Basenames of the real goma binaries: a PATH entry resolving to one of them is not a compiler. */
const GOMA_BINARIES = new Set(["gomacc", "goma"]);


/** True when `file` is an executable regular file (after symlinks) and not goma itself. */
async function isCompilerCandidate(file: string): Promise<boolean> {
  // Synchronous calls: this runs along PATH for every compile, and each awaited call costs more than the
  // system call itself.
  try {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    const real = fs.realpathSync.native(file);
    return real !== gomaRealPath() && !GOMA_BINARIES.has(path.basename(real));
  } catch {
    return false;
  }
}

/**
 * The absolute path of the compiler `argv0` for a compile in `cwd` with environment `env`, not
 * resolved through symlinks (Goma `local_compiler_path`).
 *
 * @param argv0 the compiler as invoked: "gcc", "./bin/clang", "/usr/bin/g++".
 * @param cwd the compile's working directory (absolute).
 * @param env the compile's environment; `env.PATH` is searched (process.env.PATH when it has none).
 *   Empty PATH entries mean cwd, as in execvp.
 * @returns e.g. "/usr/bin/gcc".
 * @throws {GomaError} NotFound when no executable is found.
 */
export async function findCompiler(argv0: string, cwd: string, env: Record<string, string>): Promise<string> {
  if (argv0 === "") throw new GomaError(Code.NotFound, "Failed to find the compiler: empty argv[0]");
  if (argv0.includes("/")) {
    const p = path.resolve(cwd, argv0);
    if (await isCompilerCandidate(p)) return p;
    throw new GomaError(Code.NotFound, `Failed to find the compiler ${JSON.stringify(argv0)}: ${p} is not an executable file`);
  }
  const searchPath = env.PATH ?? process.env.PATH ?? "";
  for (const dir of searchPath.split(path.delimiter)) {
    const p = path.resolve(cwd, dir, argv0);
    if (await isCompilerCandidate(p)) return p;
  }
  throw new GomaError(Code.NotFound, `Failed to find the compiler ${JSON.stringify(argv0)} on PATH=${searchPath}`);
}
