/**
 * Runs one action's process the way bb_runner does: argv[0] is absolute, relative to the working
 * directory, or a bare name looked up in the PATH of the *Command's* environment; the environment is
 * exactly the Command's variables (nothing inherited); stdout and stderr go to files; the process gets
 * its own process group, which is killed (SIGKILL) when the timeout expires and again after exit so that
 * no stray children outlive the action.
 *
 * Spec: REAPI Command.arguments (v2.3 argv[0] rules), Command.environment_variables, Action.timeout;
 * reference/reapi-buildbarn.md §1.2.
 */
import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { bwrapArgs } from "./sandbox.ts";

/** One process to run. Times are in milliseconds. */
export interface RunRequest {
  /** `Command.arguments`; argv[0] is resolved as described above and passed on unchanged as argv[0]. */
  argv: string[];
  /** Absolute working directory. */
  cwd: string;
  /** The complete environment. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Files (created) receiving stdout and stderr. */
  stdoutPath: string;
  stderrPath: string;
  /** Called with the process id once started, so that callers can kill the group on shutdown. */
  onStart?: (pid: number) => void;
  /** Run under bubblewrap (lib/backend/sandbox.ts): the binary, the directory to hide, the writable root, the user. */
  sandbox?: { bwrap: string; hide: string[]; actionRoot: string; user?: { uid: number; gid: number } };
}

/** How the process ended. `exitCode` is 128 + signal number when killed by a signal. */
export interface RunResult {
  exitCode: number;
  timedOut: boolean;
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    await access(p, fsConstants.X_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves argv[0]: a name with a slash is taken relative to `cwd`; a bare name is searched in `envPath`
 * (colon-separated; empty or relative entries are relative to `cwd`).
 * @throws {GomaError} InvalidArgument when a bare name is not found in PATH.
 */
export async function resolveArgv0(argv0: string, cwd: string, envPath: string | undefined): Promise<string> {
  if (argv0.includes("/")) return isAbsolute(argv0) ? argv0 : resolve(cwd, argv0);
  for (const dir of (envPath ?? "").split(":")) {
    const candidate = resolve(cwd, dir === "" ? "." : dir, argv0);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new GomaError(Code.InvalidArgument,
    `Failed to start process: "${argv0}" not found in PATH "${envPath ?? ""}" of the Command's environment`);
}

/** Sends SIGKILL to a process group; a group that is already gone is fine. */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: nothing left to kill
  }
}

/**
 * Runs the process to completion (or timeout).
 * @throws {GomaError} InvalidArgument when argv is empty or the program cannot be started.
 */
export async function runCommand(req: RunRequest): Promise<RunResult> {
  if (req.argv.length === 0 || !req.argv[0]) throw new GomaError(Code.InvalidArgument, "Command has no arguments");
  const program = await resolveArgv0(req.argv[0], req.cwd, req.env.PATH);
  const out = await open(req.stdoutPath, "w");
  const err = await open(req.stderrPath, "w");
  try {
    return await new Promise<RunResult>((resolveRun, reject) => {
      let timedOut = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const sb = req.sandbox;
      const child = sb
        ? spawn(sb.bwrap, bwrapArgs({ hide: sb.hide, actionRoot: sb.actionRoot, cwd: req.cwd, program, args: req.argv.slice(1), user: sb.user }), {
          cwd: req.cwd, env: req.env, detached: true, stdio: ["ignore", out.fd, err.fd],
        })
        : spawn(program, req.argv.slice(1), {
          argv0: req.argv[0],
          cwd: req.cwd,
          env: req.env,
          detached: true,
          stdio: ["ignore", out.fd, err.fd],
        });
      child.once("error", (e) => {
        if (timer) clearTimeout(timer);
        reject(new GomaError(Code.InvalidArgument, `Failed to start process "${req.argv[0]}": ${e.message}`, { cause: e }));
      });
      child.once("spawn", () => {
        if (child.pid !== undefined) req.onStart?.(child.pid);
        timer = setTimeout(() => {
          timedOut = true;
          if (child.pid !== undefined) killProcessGroup(child.pid);
        }, req.timeoutMs);
      });
      child.once("exit", (code, signal) => {
        if (timer) clearTimeout(timer);
        if (child.pid !== undefined) killProcessGroup(child.pid);
        const sig = signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0;
        resolveRun({ exitCode: code ?? 128 + sig, timedOut });
      });
    });
  } finally {
    await out.close();
    await err.close();
  }
}

/** Joins the input root and `Command.working_directory`, refusing paths that escape the root. */
export function workingDirectory(root: string, working: string | null | undefined): string {
  const wd = join(root, working ?? "");
  if (wd !== root && !wd.startsWith(`${root}/`)) {
    throw new GomaError(Code.InvalidArgument, `working_directory "${working}" escapes the input root`);
  }
  return wd;
}
