/**
 * Process measurements for `goma bench`: CPU seconds and peak RSS of long-running daemons read from
 * /proc/<pid>/{stat,status}, and timed shell scripts whose CPU (all their waited-for descendants: make,
 * the compilers, `goma cc`, `ccache`, the `sccache` clients) comes from bash's `times` builtin, i.e. the
 * kernel's getrusage(RUSAGE_CHILDREN) of the shell that ran them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

let clkTck: number | undefined;

/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 when that cannot be run). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/**
 * CPU seconds used so far by process `pid`: user + system time of the process itself plus that of its
 * children it has waited for (fields utime, stime, cutime, cstime of /proc/<pid>/stat). The embedded
 * backend's compilers are children of `goma server`, sccache's compilers children of its server, so
 * their work is counted here.
 * @returns seconds, or undefined when the process is gone or not readable.
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime..cstime are fields 14..17.
  const ticks = [11, 12, 13, 14].reduce((s, i) => s + Number(rest[i] ?? 0), 0);
  return ticks / clockTicks();
}

/**
 * Memory figures of process `pid` from /proc/<pid>/status, in MiB: `hwm` is VmHWM (peak resident set
 * since the process started), `rss` VmRSS (now).
 * @returns undefined when the process is gone.
 */
export function processMemoryMiB(pid: number): { hwm: number; rss: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { hwm: kib("VmHWM") / 1024, rss: kib("VmRSS") / 1024 };
}

/** True while process `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** What {@link runTimed} measured. */
export interface TimedResult {
  /** Exit status of the script (128+N when killed by signal N). */
  code: number;
  /** Wall-clock seconds from spawn to exit. */
  wallS: number;
  /** User and system CPU seconds of everything the script ran (its waited-for descendants). */
  userS: number;
  sysS: number;
}

const running = new Set<ChildProcess>();

/**
 * Runs `script` with bash in its own process group (stdout and stderr appended to `logPath`) and
 * measures wall time and the CPU time of all it ran. The script runs in a subshell, so `set -e` in it
 * cannot skip the measurement.
 * @throws Error when bash cannot be started.
 */
export function runTimed(script: string, opts: { cwd: string; env: Record<string, string>; logPath: string }): Promise<TimedResult> {
  const wrapped = `( ${script}\n)\n__goma_bench_rc=$?\ntimes >&3\nexit $__goma_bench_rc\n`;
  const logFd = openSync(opts.logPath, "a");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("bash", ["-c", wrapped], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", logFd, logFd, "pipe"], detached: true });
    running.add(child);
    let times = "";
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (b: Buffer) => (times += b.toString()));
    child.on("error", (e) => {
      running.delete(child);
      closeSync(logFd);
      reject(new Error(`cannot run bash: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      running.delete(child);
      closeSync(logFd);
      const wallS = (performance.now() - t0) / 1000;
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s".
      const lines = times.trim().split("\n");
      const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[1] ?? "");
      const userS = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      const sysS = m ? Number(m[3]) * 60 + Number(m[4]) : NaN;
      resolve({ code: code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15), wallS, userS, sysS });
    });
  });
}

/** Sends SIGTERM to the process group of every script {@link runTimed} is running (on Ctrl-C). */
export function killRunning(): void {
  for (const c of running) {
    if (c.pid) {
      try {
        process.kill(-c.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Runs a command to completion without a shell and returns its exit code and output.
 * @param timeoutMs kills it after this long (its exit code is then 124).
 */
export function runQuiet(
  argv: string[],
  opts: { cwd?: string; env: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + e.message });
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr });
    });
  });
}

/**
 * Finds an executable named `name` on `pathVar` (a PATH value), like `command -v`.
 * @returns its absolute path, or undefined.
 */
export function which(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
