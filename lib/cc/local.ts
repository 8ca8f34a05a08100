import { hasEscapedBytes } from "./bytes.ts";

/**
 * Runs the compiler locally with the caller's stdio and environment, and returns its exit code the way
 * a shell would (128 + signal number when killed). Used whenever goma cannot or should not compile
 * remotely: the build must never fail because goma failed. An argument that is not valid UTF-8 (carried
 * as escaped bytes, lib/cc/bytes.ts) is passed as its exact bytes: the process execs the compiler.
 */
export async function runLocal(argv: string[]): Promise<number> {
  if (argv.some(hasEscapedBytes)) {
    const { execExactBytes } = await import("./exec-bytes.ts");
    await execExactBytes(argv);
    // Only reached when exec failed (or off Bun): report it like a compiler that cannot start.
    if ((globalThis as { Bun?: unknown }).Bun) {
      process.stderr.write(`goma: cannot run ${JSON.stringify(argv[0])}: execvp failed\n`);
      return 127;
    }
  }
  const Bun_ = (globalThis as { Bun?: typeof Bun }).Bun;
  if (Bun_) {
    try {
      const p = Bun_.spawn(argv, { stdio: ["inherit", "inherit", "inherit"] });
      const code = await p.exited;
      if (p.signalCode) return 128 + signalNumber(String(p.signalCode));
      return code;
    } catch (e) {
      process.stderr.write(`goma: cannot run ${JSON.stringify(argv[0])}: ${(e as Error).message}\n`);
      return 127;
    }
  }
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit" });
  if (r.error) {
    process.stderr.write(`goma: cannot run ${JSON.stringify(argv[0])}: ${r.error.message}\n`);
    return 127;
  }
  if (r.signal) return 128 + signalNumber(r.signal);
  return r.status ?? 1;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
function signalNumber(name: string): number {
  return SIGNALS[name] ?? 1;
}
