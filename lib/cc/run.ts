/**
 * `goma cc` (Goma's gomacc): hands one compile to the proxy, or runs it locally.
 *
 * Runs locally, without asking the proxy, when: `GOMA_DISABLED` is true; the command is not a compile
 * (`-c` absent and no `@file` that could hold it: links, `-E`, `-M` alone); the input is stdin (`-`).
 * Runs locally after asking when the proxy answers `local` (unsupported flags, compiler not found,
 * remote failure …), and whenever the proxy cannot be reached: a build never fails because goma is down,
 * unless GOMA_FALLBACK=false asks for exactly that (then an unreachable proxy fails the compile, exit 1,
 * as in Goma's gomacc; steps that run locally at once still run).
 * Exit code, stdout and stderr are the compiler's own.
 *
 * Every local run is counted by the proxy (`goma proxy stats`): after the compiler exits, `goma cc`
 * reports it fire and forget (bounded, never failing the step); a run while no proxy answers is appended
 * to a spool file in GOMA_TMP_DIR that the next proxy counts.
 *
 * Lean on purpose: imports only lib/ipc and node:fs (reference/toolchain.md §4).
 */
import { appendFileSync, mkdirSync, statSync, writeSync } from "node:fs";
import { runLocal } from "./local.ts";
import { exchange, notify } from "./connect.ts";
import { gomaTmpDir, proxySocketPath, unreachedSpoolPath } from "../ipc/paths.ts";
import type { CcReport } from "../ipc/protocol.ts";
import { findRealCompiler, installLinks } from "./masquerade.ts";
import { gomaBool } from "../config/goma-env.ts";
import { exactArgv, exactCwd, exactEnv } from "./bytes.ts";


/** Decides, from argv alone, whether asking the proxy could help. Returns a reason to stay local, or "". */
export function localOnlyReason(argv: string[], env: Record<string, string | undefined>): string {
  if (gomaBool(env.GOMA_DISABLED) === true) return "GOMA_DISABLED is set";
  let compile = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-c" || a.startsWith("@")) compile = true;
    else if (a === "-") return "input is stdin";
    else if (a === "-E") return "preprocess only (-E)";
  }
  return compile ? "" : "not a compile (no -c): link or other step";
}

function writeAll(fd: 1 | 2, data: Uint8Array): void {
  if (data.byteLength === 0) return;
  let off = 0;
  while (off < data.byteLength) {
    try {
      off += writeSync(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      throw e;
    }
  }
}

/**
 * Runs one compile. `argv` is the compiler and its arguments (`goma cc gcc -c a.c` → `["gcc","-c","a.c"]`).
 * With `opts.masquerade` (goma invoked through a link named `gcc`…), the compiler is the next `gcc` on
 * PATH that is not goma. `goma cc --install-links DIR [NAME…]` makes such links.
 * Sets `process.exitCode` to the compiler's exit code.
 */
export async function runCc(argvAsDecoded: string[], opts: { masquerade?: boolean } = {}): Promise<void> {
  // argv, cwd and env are bytes: recover any the runtime could not decode (lib/cc/bytes.ts). A
  // masquerading goma's argv[0] is the link's name, not an argument from the command line.
  let argv = opts.masquerade ? [argvAsDecoded[0]!, ...exactArgv(argvAsDecoded.slice(1))] : exactArgv(argvAsDecoded);
  if (!opts.masquerade && (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h")) {
    process.stdout.write("usage: goma cc <compiler> <args…>   (or: gomacc <compiler> <args…>)\n" +
      "       goma cc --install-links DIR [NAME…]   links named gcc, g++, cc, c++, clang, clang++ (and the versioned\n" +
      "       names on PATH) to goma: with DIR first on PATH, `gcc -c a.c` compiles through goma\n");
    process.exitCode = argv.length === 0 ? 2 : 0;
    return;
  }
  const env = exactEnv(process.env);
  if (!opts.masquerade && argv[0] === "--install-links") {
    if (!argv[1] || argv[1].startsWith("-")) {
      process.stderr.write("goma cc --install-links: name the DIR to put the links in\n");
      process.exitCode = 2;
      return;
    }
    try {
      const r = installLinks(argv[1], env.PATH ?? "", argv.slice(2));
      process.stdout.write(`linked ${r.linked.join(" ")} in ${argv[1]}: put it first on PATH\n`);
      for (const s of r.skipped) process.stderr.write(`goma cc --install-links: skipped ${s}\n`);
      process.exitCode = r.skipped.length ? 1 : 0;
    } catch (e) {
      process.stderr.write(`goma cc --install-links: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
    return;
  }
  if (opts.masquerade) {
    const real = findRealCompiler(argv[0]!, env.PATH ?? "");
    if (real === undefined) {
      process.stderr.write(`goma: no ${argv[0]} on PATH other than goma's own links (PATH=${env.PATH ?? ""})\n`);
      process.exitCode = 127;
      return;
    }
    argv = [real, ...argv.slice(1)];
  }
  if (argv[0] === "--ping") {
    // One IPC round trip to the proxy on the same lean path as a compile (gomacc's `port` command
    // plays this role in Goma); used by scripts/bench-cc.sh.
    try {
      const reply = await exchange(proxySocketPath(env), { v: 1, control: "ping" } as unknown as Parameters<typeof exchange>[1]);
      process.stdout.write(JSON.stringify(reply.header) + "\n");
    } catch (e) {
      process.stderr.write(`goma cc: proxy not reachable: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
    return;
  }
  const atOnce = localOnlyReason(argv, env);
  let report: CcReport["report"] = { outcome: "direct", reason: atOnce, ms: 0, exitCode: 0, at: Date.now() };
  if (atOnce === "") {
    report = { ...report, outcome: "unreachable", reason: "no goma proxy answered" };
    try {
      const umask = process.umask();
      const reply = await exchange(proxySocketPath(env), {
        v: 1,
        argv,
        cwd: exactCwd(),
        env,
        umask,
        pid: process.pid,
      });
      if (reply.header.kind === "done") {
        writeAll(1, reply.stdout);
        writeAll(2, reply.stderr);
        const code = reply.header.exitCode;
        process.exitCode = code >= 0 && code <= 255 ? code : 1;
        return;
      }
      // `local`: the proxy counted the task; `error`: it refused the request, so count the run here.
      report = reply.header.kind === "local"
        ? { ...report, outcome: "local", id: reply.header.id, reason: undefined }
        : { ...report, outcome: "direct", reason: `the proxy refused the request: ${reply.header.reason}` };
    } catch (e) {
      // The proxy is not running or failed: compile locally; the report goes to the spool (below). Under
      // GOMA_FALLBACK=false the compile fails instead, as gomacc fails when compiler_proxy cannot be reached.
      const why = (e as Error).message.split("\n")[0]!;
      if (gomaBool(env.GOMA_FALLBACK) === false) {
        process.stderr.write(`goma: no goma proxy answered on ${proxySocketPath(env)} (${why}), and GOMA_FALLBACK=false forbids a local compile\n`);
        process.exitCode = 1;
        return;
      }
      report.reason = `no goma proxy answered: ${why}`.slice(0, 300);
    }
  }
  const t0 = performance.now();
  process.exitCode = await runLocal(argv);
  report.ms = performance.now() - t0;
  report.exitCode = process.exitCode;
  await reportLocalRun(env, argv, report);
}

/** Largest spool file goma cc appends to (bytes); beyond it, runs without a proxy go uncounted. */
const SPOOL_MAX_BYTES = 4 * 1024 * 1024;

/**
 * After a local run: tells the proxy (fire and forget: connect and write, at most 1 s, never waiting for
 * the proxy to read; lib/cc/connect.ts `notify`), or,
 * when no proxy answers, appends the run to the spool file the next proxy counts
 * (lib/ipc/paths.ts `unreachedSpoolPath`). A run the proxy answered `local` for is only reported to a
 * proxy (it counted the task already). Never throws: counting must not change a build's result.
 */
async function reportLocalRun(env: Record<string, string>, argv: string[], r: CcReport["report"]): Promise<void> {
  const full: CcReport["report"] = r.outcome === "local" ? r : { ...r, argv, cwd: process.cwd(), pid: process.pid };
  if (r.outcome !== "unreachable" && await notify(proxySocketPath(env), { v: 1, report: full } satisfies CcReport)) return;
  if (r.outcome === "local") return;
  try {
    const spool = unreachedSpoolPath(env);
    let size = 0;
    try {
      size = statSync(spool).size;
    } catch {
      mkdirSync(gomaTmpDir(env), { recursive: true, mode: 0o700 });
    }
    if (size < SPOOL_MAX_BYTES) appendFileSync(spool, JSON.stringify(full) + "\n", { mode: 0o600 });
  } catch {
    // unwritable tmp dir: this run is not counted
  }
}
