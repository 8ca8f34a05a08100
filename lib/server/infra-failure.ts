/**
 * Tells an infrastructure failure of a remote compile from the compile's own result, so that a full
 * disk, a lost process or an exhausted worker becomes a goma failure (→ the proxy compiles locally and
 * records the reason) instead of failing the user's build with the worker's error.
 *
 * Signals, for a result with a non-zero exit code (a successful compile is always a result):
 * - the wrapper's first stderr line (`GOMA_EXEC_ROOT=…`, lib/server/wrapper.ts) is absent: the wrapper
 *   never ran (the runner could not start it);
 * - exit 126 or 127 (the shell could not execute a program) or ≥ 128 (the wrapper or compiler was killed
 *   by a signal: the OOM killer, a worker shutting down); compilers exit 1 for errors and gcc 4 for an ICE;
 * - stderr names an operating-system resource error: `No space left on device` (ENOSPC), `Disk quota
 *   exceeded`, `Read-only file system`, `Input/output error`, `Cannot allocate memory`, `virtual memory
 *   exhausted`, `Too many open files`, `Resource temporarily unavailable`, or a compiler stage killed by
 *   a signal (`Killed signal terminated program`, clang's `unable to execute command: Killed`), or a
 *   driver that could not start its own cc1/as/ld (gcc's `cannot execute 'cc1': execvp`).
 *
 * A false positive (a source whose `#error` text quotes one of these) costs one local compile, which
 * reports the same error; a false negative fails a build. So the patterns are generous. Such results
 * are never in the action cache: only exit 0 is cached.
 */

const RESOURCE_ERRORS: [RegExp, string][] = [
  [/No space left on device/, "no space left on the worker's disk"],
  [/Disk quota exceeded/, "disk quota exceeded on the worker"],
  [/Read-only file system/, "read-only file system on the worker"],
  [/Input\/output error/, "I/O error on the worker"],
  [/Cannot allocate memory|virtual memory exhausted|LLVM ERROR: out of memory/, "the worker ran out of memory"],
  [/Too many open files/, "the worker ran out of file descriptors"],
  [/Resource temporarily unavailable/, "the worker could not start a process"],
  [/Killed signal terminated program|unable to execute command: Killed|terminated by signal 9\b/, "a compiler process was killed on the worker"],
  // The driver could not start one of its own programs (cc1, as, ld): the worker's toolchain differs.
  [/(?:fatal )?error: cannot execute ['‘][^'’]+['’]: execvp|error: unable to execute command: (?:Executable|posix_spawn)/, "the worker could not run a program of the compiler"],
];

/**
 * The reason a failed remote compile is an infrastructure failure, or undefined when it is the
 * compile's own result.
 * @param exitCode the action's exit code.
 * @param stderr the action's stderr as text (after the exec-root marker line was removed).
 * @param wrapperRan whether stderr began with the wrapper's marker line.
 * @example infrastructureFailure(1, "as: big.o: No space left on device\n", true)
 *   // "no space left on the worker's disk: as: big.o: No space left on device"
 */
export function infrastructureFailure(exitCode: number, stderr: string, wrapperRan: boolean): string | undefined {
  if (exitCode === 0) return undefined;
  const lines = stderr.split("\n");
  for (const [re, what] of RESOURCE_ERRORS) {
    const line = lines.find((l) => re.test(l));
    if (line !== undefined) return `${what}: ${line.trim().slice(0, 300)}`;
  }
  const first = lines.find((l) => l.trim())?.trim().slice(0, 300) ?? "";
  const detail = first ? `: ${first}` : "";
  if (!wrapperRan) return `the remote wrapper did not run (exit ${exitCode})${detail}`;
  if (exitCode === 126 || exitCode === 127) return `the worker could not execute the compiler (exit ${exitCode})${detail}`;
  if (exitCode >= 128 && exitCode < 256) return `the compile was killed on the worker by signal ${exitCode - 128}${detail}`;
  if (exitCode < 0 || exitCode >= 256) return `the worker reported exit status ${exitCode}${detail}`;
  return undefined;
}
