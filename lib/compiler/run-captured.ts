/**
 * Runs a program to completion and captures its output: how goma asks a compiler about itself
 * (CompilerInfo probes) and for its dependencies (`-M`). Uses node:child_process so it runs on Bun,
 * Node and Deno alike.
 */
import { spawn } from "node:child_process";
import { Code, GomaError } from "../util/status.ts";

/** The outcome of {@link runCaptured}: exit status and output decoded as UTF-8. */
export interface CapturedRun {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The signal name when killed, else null. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCaptured}. */
export interface RunOptions {
  /** Working directory. */
  cwd: string;
  /** The complete environment of the child (nothing is inherited). */
  env: Record<string, string>;
  /** Kill the child (SIGKILL) after this many ms. Default 60 000. */
  timeoutMs?: number;
}

/**
 * Runs `argv` with stdin closed and collects stdout and stderr. A non-zero exit is a result, not an error.
 *
 * @param argv program (a path, or a name looked up on `env.PATH`) and arguments.
 * @throws {GomaError} NotFound when the program cannot be started (ENOENT), FailedPrecondition for other
 *   spawn errors (EACCES…), DeadlineExceeded when it runs longer than `timeoutMs`.
 * @internal
 */
export function runCaptured(argv: readonly string[], opts: RunOptions): Promise<CapturedRun> {
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = argv;
    if (cmd === undefined) {
      reject(new GomaError(Code.InvalidArgument, "runCaptured: empty argv"));
      return;
    }
    const child = spawn(cmd, rest, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = e.code === "ENOENT" ? Code.NotFound : Code.FailedPrecondition;
      reject(new GomaError(code, `Failed to run ${JSON.stringify(cmd)}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new GomaError(Code.DeadlineExceeded, `${JSON.stringify(cmd)} ran longer than ${timeoutMs} ms`));
        return;
      }
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** `argv` as one shell-like line, for messages. @internal */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
