/**
 * End-to-end test harness: starts `dist/goma server` and `dist/goma proxy` in a temp dir, on free ports,
 * and stops them again.
 *
 *   const stack = await startStack();
 *   const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c"], { cwd, env: stack.env });
 *   expect((await stack.stats()).remote).toBe(1);
 *   await stack.stop();
 *
 * No sleeps: the server is ready when it prints its "listening on http://127.0.0.1:PORT" line on stdout, and
 * `goma proxy start` returns once the proxy is ready. Everything a stack writes (server cache, proxy cache,
 * proxy socket dir) lives in one temp dir under os.tmpdir(), removed by stop(). A stack that a test forgot
 * to stop is stopped by its watchdog when the test process exits. `GOMA_BIN` overrides the binary
 * (default: dist/goma).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface GomaStack {
  serverPort: number;
  dashboardPort: number;
  /** The GOMA_* variables for `goma cc` and `goma proxy` (merge them into the environment: run() does). */
  env: Record<string, string>;
  /** The stack's temp dir (server cache in server/, proxy cache in proxy-cache/, proxy socket in tmp/). */
  tmp: string;
  /** The proxy's counters: {total, remote, cacheHit, localFallback, local, failed}. */
  stats(): Promise<Record<string, number>>;
  /** The proxy's recent tasks (its dashboard's /api/tasks): outcome, reason, argv … of each. */
  tasks(): Promise<TaskInfo[]>;
  /** The proxy's dashboard page (HTML), as a person sees it. */
  dashboard(): Promise<string>;
  stopProxy(): Promise<void>;
  stopServer(): Promise<void>;
  /** Stops the proxy and the server and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the server printed so far (stdout and stderr, interleaved as they came). */
  serverLog(): string;
}

/** One task as the proxy's /api/tasks reports it (the fields tests read). */
export interface TaskInfo {
  id: number;
  argv: string[];
  cwd: string;
  state: string;
  outcome?: string;
  reason?: string;
  exitCode?: number;
}

export interface StartOptions {
  /** Start `goma server` (default true). Without it serverPort is still a free port, with nobody on it. */
  server?: boolean;
  /** Start the proxy (default true). */
  proxy?: boolean;
  /** Extra arguments for `goma server` (after --port and --cache-dir). */
  serverArgs?: string[];
  /**
   * Wraps the server's command line, e.g. to run it in its own mount namespace with the cache dir on a
   * tiny tmpfs: `(cmd, cacheDir) => ["unshare", "-m", "sh", "-c", 'mount … "$0" && exec "$@"', cacheDir, ...cmd]`.
   * The wrapper must exec the server (its pid is the one stopped).
   */
  serverWrap?: (cmd: string[], cacheDir: string) => string[];
  /**
   * With `server: false`: the port of a server the test runs itself (e.g. a fake Goma server), which the
   * proxy is pointed at. Default: a free port with nobody on it.
   */
  serverPort?: number;
  /** Extra environment for the server and the proxy (also in `env`), e.g. XDG_CONFIG_HOME. */
  env?: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** Absolute path of dist/goma (or of $GOMA_BIN). */
export function gomaBin(): string {
  return resolve(process.env.GOMA_BIN || join(REPO, "dist", "goma"));
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/**
 * Runs a command to completion. `env` is merged over process.env. `code` is the exit code, or 128+N when
 * the command was killed by signal N (as a shell reports it). Rejects only when the command cannot be
 * started at all (e.g. not found).
 */
export function run(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    if (cmd.length === 0) {
      reject(new Error("run: empty command"));
      return;
    }
    const child = spawn(cmd[0]!, cmd.slice(1), {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new Error(`run: cannot start ${cmd[0]}: ${e.message}`)));
    child.on("close", (code, signal) => {
      resolvePromise({
        code: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    if (opts.stdin !== undefined) {
      child.stdin!.on("error", () => {}); // the command may exit without reading its input (EPIPE)
      child.stdin!.end(opts.stdin);
    }
  });
}

/** A TCP port that was free a moment ago: bind port 0 on 127.0.0.1, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePromise(port) : reject(new Error("freePort: no port"))));
    });
  });
}

/** Waits for a child to exit, up to `ms`; true if it did. */
function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolvePromise(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolvePromise(true);
    };
    child.once("exit", onExit);
  });
}

interface ServerHandle {
  child: ChildProcess;
  log: () => string;
}

/**
 * Starts `goma server --port PORT --cache-dir DIR …` and resolves once it printed its listening line on
 * stdout. Rejects (with the server's output) when it exits first or is not ready within READY_TIMEOUT_MS;
 * `addrInUse` tells whether it failed because the port was taken meanwhile.
 */
function startServer(port: number, cacheDir: string, extra: string[], wrap?: StartOptions["serverWrap"], extraEnv: Record<string, string> = {}): Promise<ServerHandle> {
  return new Promise((resolvePromise, reject) => {
    const plain = [gomaBin(), "server", "--port", String(port), "--cache-dir", cacheDir, ...extra];
    const cmd = wrap ? wrap(plain, cacheDir) : plain;
    const child = spawn(cmd[0]!, cmd.slice(1), {
      env: { ...process.env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // A stack a test forgot to stop must not keep the test process alive (its watchdog stops it).
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    let log = "";
    let stdoutText = "";
    let settled = false;
    const handle: ServerHandle = { child, log: () => log };
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const e = new Error(`goma server on port ${port}: ${why}\n--- server output ---\n${log}`) as Error & { addrInUse?: boolean };
      e.addrInUse = /EADDRINUSE|address already in use/i.test(log);
      reject(e);
    };
    const timer = setTimeout(() => fail(`not listening after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.stdout!.on("data", (b: Buffer) => {
      const s = b.toString("utf8");
      log += s;
      stdoutText += s;
      if (!settled && stdoutText.includes(`listening on http://127.0.0.1:${port}`)) {
        settled = true;
        clearTimeout(timer);
        resolvePromise(handle);
      }
    });
    child.stderr!.on("data", (b: Buffer) => {
      log += b.toString("utf8");
    });
    child.on("error", (e) => fail(`cannot start ${gomaBin()}: ${e.message}`));
    child.on("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
  });
}

/**
 * A stack's watchdog: a detached `sh` that reads what is running from a pipe held by this process. When the
 * test process exits without stopping the stack (a forgotten stop(), a crash, a killed runner: bun test runs
 * no exit hooks), the pipe closes and the watchdog stops the proxy and the server and removes the temp dir.
 * stop() sends "done", which ends it without doing anything. No polling: it blocks on the pipe.
 */
const WATCHDOG = `
server=; proxy=0
while read -r cmd arg; do
  case $cmd in
    server) server=$arg ;;
    noserver) server= ;;
    env) export "$arg" ;;
    proxy) proxy=1 ;;
    noproxy) proxy=0 ;;
    done) exit 0 ;;
  esac
done
if [ "$proxy" = 1 ]; then timeout 20 "$1" proxy stop >/dev/null 2>&1; fi
if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null; fi
rm -rf "$2"
`;

interface Watchdog {
  tell(line: string): void;
}

function startWatchdog(tmp: string, env: () => Record<string, string>): Watchdog {
  const child = spawn("sh", ["-c", WATCHDOG, "goma-e2e-watchdog", gomaBin(), tmp], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env },
  });
  child.on("error", () => {}); // no sh: no watchdog, stop() still cleans up
  child.unref();
  const stdin = child.stdin!;
  (stdin as unknown as { unref?: () => void }).unref?.();
  stdin.on("error", () => {});
  return {
    tell(line: string) {
      // The proxy's env is only known once the ports are: pass it along with "proxy".
      if (line === "proxy") {
        for (const [k, v] of Object.entries(env())) stdin.write(`env ${k}=${v}\n`);
      }
      if (line === "done") stdin.end("done\n");
      else stdin.write(`${line}\n`);
    },
  };
}

/** Starts a server and/or a proxy (both by default) in a fresh temp dir, on free ports. */
export async function startStack(opts: StartOptions = {}): Promise<GomaStack> {
  const wantServer = opts.server ?? true;
  const wantProxy = opts.proxy ?? true;
  const tmp = mkdtempSync(join(tmpdir(), "goma-e2e-"));

  let server: ServerHandle | undefined;
  let serverPort = 0;
  let proxyRunning = false;
  let serverLogAtStop = "";
  let env: Record<string, string> = {};
  const watchdog = startWatchdog(tmp, () => env);

  const stopProxy = async (): Promise<void> => {
    if (!proxyRunning) return;
    proxyRunning = false;
    watchdog.tell("noproxy");
    const r = await run([gomaBin(), "proxy", "stop"], { env });
    if (r.code !== 0) throw new Error(`goma proxy stop exited ${r.code}\n${r.stdout}${r.stderr}`);
  };

  const stopServer = async (): Promise<void> => {
    const h = server;
    if (!h) return;
    server = undefined;
    watchdog.tell("noserver");
    serverLogAtStop = h.log();
    if (h.child.exitCode !== null || h.child.signalCode !== null) return;
    h.child.kill("SIGTERM");
    if (!(await waitExit(h.child, STOP_TIMEOUT_MS))) {
      h.child.kill("SIGKILL");
      await waitExit(h.child, STOP_TIMEOUT_MS);
      throw new Error(`goma server did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM (killed)`);
    }
    serverLogAtStop = h.log();
  };

  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    try {
      await stopProxy();
    } catch (e) {
      errors.push(e);
    }
    try {
      await stopServer();
    } catch (e) {
      errors.push(e);
    }
    rmSync(tmp, { recursive: true, force: true });
    watchdog.tell("done");
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "stopping the goma stack failed");
  };

  try {
    if (wantServer) {
      const cacheDir = join(tmp, "server");
      mkdirSync(cacheDir, { recursive: true });
      for (let attempt = 1; ; attempt++) {
        serverPort = await freePort();
        try {
          server = await startServer(serverPort, cacheDir, opts.serverArgs ?? [], opts.serverWrap, opts.env);
          if (server.child.pid) watchdog.tell(`server ${server.child.pid}`);
          break;
        } catch (e) {
          // Another process took the port between freePort() and the server's bind: try another one.
          if ((e as { addrInUse?: boolean }).addrInUse && attempt < 3) continue;
          throw e;
        }
      }
    } else {
      serverPort = opts.serverPort ?? (await freePort());
    }

    const dashboardPort = await freePort();
    const gomaTmp = join(tmp, "tmp");
    mkdirSync(gomaTmp, { recursive: true, mode: 0o700 });
    env = {
      GOMA_SERVER_HOST: "127.0.0.1",
      GOMA_SERVER_PORT: String(serverPort),
      GOMA_USE_SSL: "false",
      GOMA_TMP_DIR: gomaTmp,
      GOMA_CACHE_DIR: join(tmp, "proxy-cache"),
      GOMA_COMPILER_PROXY_PORT: String(dashboardPort),
      ...opts.env,
    };

    if (wantProxy) {
      watchdog.tell("proxy");
      proxyRunning = true;
      const r = await run([gomaBin(), "proxy", "start"], { env });
      if (r.code !== 0) throw new Error(`goma proxy start exited ${r.code}\n${r.stdout}${r.stderr}`);
    }

    const stats = async (): Promise<Record<string, number>> => {
      let why = "";
      try {
        const res = await fetch(`http://127.0.0.1:${dashboardPort}/api/stats`);
        if (res.ok) return (await res.json()) as Record<string, number>;
        why = `/api/stats answered ${res.status}`;
      } catch (e) {
        why = `/api/stats: ${(e as Error).message}`;
      }
      const r = await run([gomaBin(), "proxy", "status", "--json"], { env });
      if (r.code === 0) {
        try {
          return JSON.parse(r.stdout) as Record<string, number>;
        } catch {
          // fall through to the error
        }
      }
      throw new Error(`cannot read the proxy's stats (${why}; goma proxy status --json exited ${r.code}: ${r.stdout}${r.stderr})`);
    };

    const dashboardGet = async (path: string): Promise<Response> => {
      const res = await fetch(`http://127.0.0.1:${dashboardPort}${path}`);
      if (!res.ok) throw new Error(`the proxy's dashboard answered ${res.status} on ${path}`);
      return res;
    };
    const tasks = async (): Promise<TaskInfo[]> => (await (await dashboardGet("/api/tasks")).json()) as TaskInfo[];
    const dashboard = async (): Promise<string> => (await dashboardGet("/")).text();

    return {
      serverPort,
      dashboardPort,
      env,
      tmp,
      stats,
      tasks,
      dashboard,
      stopProxy,
      stopServer,
      stop,
      serverLog: () => (server ? server.log() : serverLogAtStop),
    };
  } catch (e) {
    try {
      await stop();
    } catch {
      // the start error is the one worth reporting
    }
    throw e;
  }
}
