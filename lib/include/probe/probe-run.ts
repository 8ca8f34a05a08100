/**
 * Runs one compiler probe (see probe.ts): the compiler preprocesses a generated file with `-E -dM -v
 * -MD`, in a temporary directory removed afterwards.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ScanFallback } from "../scan-fallback.ts";

/** What one probe run printed. */
export interface ProbeRun {
  stdout: string;
  stderr: string;
  /** The `-MD` dep file's text ("" when the compiler wrote none). */
  deps: string;
  /** The generated input's path: its line numbers appear in error messages; it is not a dependency. */
  source: string;
}

/**
 * Runs `argv` in `cwd` on `source` (written to a temporary `probe.c`, so the compiler reads it at its own pace
 * while the caller keeps the event loop busy) with `-MD` into a temporary dep file.
 * @returns stdout (latin1), stderr, the dep file's text and the source's path (to drop it from the deps).
 * @throws {ScanFallback} "probe" when the compiler cannot be started, or fails without printing macros.
 * @internal
 */
export async function runProbe(argv: readonly string[], source: string, cwd: string, env: Record<string, string>): Promise<ProbeRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-probe-"));
  try {
    const depFile = path.join(dir, "probe.d");
    const srcFile = path.join(dir, "probe.c");
    fs.writeFileSync(srcFile, source);
    const [cmd, ...args] = argv;
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(cmd!, [...args, "-MD", "-MF", depFile, srcFile], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      child.on("error", (e) => {
        clearTimeout(timer);
        // posix_spawn says ENOENT for a missing cwd as for a missing compiler: tell them apart.
        const gone = !fs.existsSync(cwd);
        reject(new ScanFallback("probe", gone ? `Failed to run ${cmd}: its working directory ${cwd} does not exist` : `Failed to run ${cmd}: ${e.message}`));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out).toString("latin1"), stderr: Buffer.concat(err).toString("utf8") });
      });
    });
    let deps = "";
    try {
      deps = fs.readFileSync(depFile, "utf8");
    } catch {
      // no dep file: the compiler failed; the caller looks at its output
    }
    if (r.code !== 0 && !/^#define /m.test(r.stdout)) {
      throw new ScanFallback("probe", `${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    return { stdout: r.stdout, stderr: r.stderr, deps, source: srcFile };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
