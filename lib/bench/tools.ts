/**
 * The tools `goma bench` compares, each with a private cache under its own directory:
 * - `local`: the compiler alone (the baseline);
 * - `goma`: this binary's `goma server` (embedded backend, `--cache-dir` private, port chosen by the
 *   server) and `goma proxy` (private GOMA_CACHE_DIR and GOMA_TMP_DIR, a free dashboard port), builds
 *   through `goma cc`;
 * - `ccache`: CCACHE_DIR private;
 * - `sccache`: SCCACHE_DIR private and its own server port (SCCACHE_SERVER_PORT), server started with
 *   `sccache --start-server` and found by that port in /proc/<pid>/environ.
 * A cold start wipes the tool's directory and restarts its daemons.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { BenchError, type ToolName } from "./args.ts";
import { processAlive, runQuiet, which } from "./proc.ts";
import { VERSION } from "../util/version.ts";

/** Compile counts of one build, as the tool reports them. */
export interface Counters {
  /** Compiles the tool saw. */
  compiles: number;
  /** Served from its cache. */
  hits: number;
  /** Compiled (goma: remotely) and stored. */
  misses: number;
  /** goma: compiles that fell back to local; ccache/sccache: compiles they could not cache. */
  fallbacks: number;
}

/** A long-running process of a tool, whose CPU and memory `goma bench` reads from /proc. */
export interface Daemon {
  role: "proxy" | "server" | "sccache";
  pid: number;
}

/** One task from the proxy's /api/tasks (the fields bench reads). */
export interface GomaTask {
  id: number;
  outcome?: string;
  durationMs?: number;
  stages: Record<string, number>;
  /** Why the include processor gave up and the compiler's -M listed the inputs. */
  includeFallback?: string;
}

/** A usable tool. */
export interface Tool {
  name: ToolName;
  /** Its version line, e.g. "ccache 4.7.5". */
  version: string;
  /** What goes before the compiler: [] (local), ["/…/goma", "cc"], ["/usr/bin/ccache"] … */
  wrap: string[];
  /** The environment of its builds (GOMA_*, CCACHE_*, SCCACHE_* of the caller removed, its own set). */
  env(): Record<string, string>;
  /** Its running daemons. */
  daemons(): Daemon[];
  /** Wipes its cache and (re)starts its daemons. @throws BenchError when a daemon does not start. */
  startCold(): Promise<void>;
  /** Zeroes its counters (before a build). */
  resetCounters(): Promise<void>;
  /** Its counters since {@link resetCounters}; undefined for local. */
  counters(): Promise<Counters | undefined>;
  /** goma: the proxy's tasks since {@link resetCounters}. */
  tasks?(): Promise<GomaTask[]>;
  /** Stops its daemons (idempotent). */
  stop(): Promise<void>;
}

/** A tool that is not on this machine, with the sentence that says so ("sccache: not installed"). */
export interface MissingTool {
  name: ToolName;
  missing: string;
}

/** Shared context: the caller's environment, the bench's temp dir, this program's argv. */
export interface ToolContext {
  baseEnv: Record<string, string>;
  dir: string;
  self: string[];
}

/** The caller's environment without GOMA_*, CCACHE_* and SCCACHE_* (each tool sets its own). */
export function cleanEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^(GOMA_|GOMACTL_|CCACHE_|SCCACHE_)/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) for `pid` to exit, then kills it. */
async function waitGone(pid: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (processAlive(pid) && Date.now() < end) await delay(50);
  if (processAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";

/**
 * The tool named `name`, or why it is missing.
 * @throws BenchError never for a missing peer (that is a MissingTool); only for internal failures.
 */
export async function openTool(name: ToolName, ctx: ToolContext): Promise<Tool | MissingTool> {
  switch (name) {
    case "local":
      return localTool(ctx);
    case "goma":
      return gomaTool(ctx);
    case "ccache":
      return ccacheTool(ctx);
    case "sccache":
      return sccacheTool(ctx);
  }
}

function localTool(ctx: ToolContext): Tool {
  return {
    name: "local",
    version: firstLine(readVersion(ctx, "gcc")),
    wrap: [],
    env: () => ({ ...ctx.baseEnv }),
    daemons: () => [],
    startCold: async () => {},
    resetCounters: async () => {},
    counters: async () => undefined,
    stop: async () => {},
  };
}

function readVersion(ctx: ToolContext, cmd: string): string {
  const r = spawnSync(cmd, ["--version"], { env: ctx.baseEnv, encoding: "utf8" });
  return r.status === 0 ? r.stdout : cmd;
}

function ccacheTool(ctx: ToolContext): Tool | MissingTool {
  const bin = which("ccache", ctx.baseEnv.PATH);
  if (!bin) return { name: "ccache", missing: "ccache: not installed (not on PATH)" };
  const dir = join(ctx.dir, "ccache");
  const env = { ...ctx.baseEnv, CCACHE_DIR: dir };
  const stat = (s: string) => {
    const m: Record<string, number> = {};
    for (const line of s.split("\n")) {
      const [k, v] = line.split("\t");
      if (k && v !== undefined) m[k] = Number(v);
    }
    return m;
  };
  return {
    name: "ccache",
    version: firstLine(readVersion(ctx, bin)).replace(/ version /, " "),
    wrap: [bin],
    env: () => env,
    daemons: () => [],
    startCold: async () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    },
    resetCounters: async () => {
      await runQuiet([bin, "-z"], { env });
    },
    counters: async () => {
      const r = await runQuiet([bin, "--print-stats"], { env });
      if (r.code !== 0) throw new BenchError(`ccache --print-stats failed: ${firstLine(r.stderr)}`, 1);
      const m = stat(r.stdout);
      const hits = (m.direct_cache_hit ?? 0) + (m.preprocessed_cache_hit ?? 0);
      const misses = m.cache_miss ?? 0;
      const uncacheable = Object.entries(m)
        .filter(([k]) => /^(autoconf_test|bad_compiler_arguments|compile_failed|compiler_check_failed|could_not_|internal_error|multiple_source_files|no_input_file|output_to_stdout|preprocessor_error|unsupported_)/.test(k))
        .reduce((s, [, v]) => s + v, 0);
      return { compiles: hits + misses + uncacheable, hits, misses, fallbacks: uncacheable };
    },
    stop: async () => {},
  };
}

function sccacheTool(ctx: ToolContext): Tool | MissingTool {
  const bin = which("sccache", ctx.baseEnv.PATH);
  if (!bin) return { name: "sccache", missing: "sccache: not installed (not on PATH)" };
  const dir = join(ctx.dir, "sccache");
  let env: Record<string, string> = {};
  let pid: number | undefined;
  const sum = (o: unknown) => Object.values((o as { counts?: Record<string, number> })?.counts ?? {}).reduce((s, v) => s + v, 0);
  const tool: Tool = {
    name: "sccache",
    version: firstLine(readVersion(ctx, bin)),
    wrap: [bin],
    env: () => env,
    daemons: () => (pid ? [{ role: "sccache", pid }] : []),
    startCold: async () => {
      await tool.stop();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "cache"), { recursive: true });
      const port = await freePort();
      env = { ...ctx.baseEnv, SCCACHE_DIR: join(dir, "cache"), SCCACHE_SERVER_PORT: String(port), SCCACHE_IDLE_TIMEOUT: "0" };
      // sccache's client gives its server a fixed few seconds to come up, which a loaded machine can miss
      // ("Timed out waiting for server startup"): stop what may have started and try again, three times.
      let r = await runQuiet([bin, "--start-server"], { env, timeoutMs: 60_000 });
      for (let attempt = 2; r.code !== 0 && attempt <= 3; attempt++) {
        await runQuiet([bin, "--stop-server"], { env, timeoutMs: 30_000 });
        const stale = findByEnv(`SCCACHE_SERVER_PORT=${port}`, "sccache");
        if (stale) await waitGone(stale);
        r = await runQuiet([bin, "--start-server"], { env, timeoutMs: 60_000 });
      }
      if (r.code !== 0) throw new BenchError(`sccache --start-server failed 3 times: ${firstLine(r.stderr || r.stdout)}`, 1);
      pid = findByEnv(`SCCACHE_SERVER_PORT=${port}`, "sccache");
      if (!pid) throw new BenchError(`sccache's server started but no process with SCCACHE_SERVER_PORT=${port} was found in /proc`, 1);
    },
    resetCounters: async () => {
      await runQuiet([bin, "--zero-stats"], { env });
    },
    counters: async () => {
      const r = await runQuiet([bin, "--show-stats", "--stats-format", "json"], { env });
      let j: { stats?: Record<string, unknown> };
      try {
        j = JSON.parse(r.stdout);
      } catch {
        throw new BenchError(`sccache --show-stats --stats-format json: not JSON: ${firstLine(r.stdout || r.stderr)}`, 1);
      }
      const s = j.stats ?? {};
      const hits = sum(s.cache_hits);
      const misses = sum(s.cache_misses);
      const compiles = Number(s.compile_requests ?? hits + misses);
      return { compiles, hits, misses, fallbacks: Math.max(0, compiles - hits - misses) };
    },
    stop: async () => {
      if (!pid) return;
      const p = pid;
      pid = undefined;
      await runQuiet([bin, "--stop-server"], { env, timeoutMs: 30_000 });
      await waitGone(p);
    },
  };
  return tool;
}

/** The pid of a process named `comm` whose environment holds `entry` (KEY=VALUE), or undefined. */
function findByEnv(entry: string, comm: string): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() !== comm) continue;
      if (readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(entry)) return Number(d);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}

function gomaTool(ctx: ToolContext): Tool {
  const dir = join(ctx.dir, "goma");
  let env: Record<string, string> = {};
  let server: ChildProcess | undefined;
  let proxyPid: number | undefined;
  let dashPort = 0;
  let base: Record<string, number> = {};
  const stats = async (): Promise<Record<string, number>> => {
    const r = await fetch(`http://127.0.0.1:${dashPort}/api/stats`);
    if (!r.ok) throw new BenchError(`goma proxy /api/stats: HTTP ${r.status}`, 1);
    return (await r.json()) as Record<string, number>;
  };
  const tool: Tool = {
    name: "goma",
    version: `goma ${VERSION} (embedded backend)`,
    wrap: [...ctx.self, "cc"],
    env: () => env,
    daemons: () => [
      ...(proxyPid ? [{ role: "proxy" as const, pid: proxyPid }] : []),
      ...(server?.pid ? [{ role: "server" as const, pid: server.pid }] : []),
    ],
    startCold: async () => {
      await tool.stop();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "server"), { recursive: true });
      mkdirSync(join(dir, "cache"), { recursive: true });
      mkdirSync(join(dir, "tmp"), { recursive: true, mode: 0o700 });
      const port = await startServer(join(dir, "server"));
      dashPort = await freePort();
      env = {
        ...ctx.baseEnv, GOMA_SERVER_HOST: "127.0.0.1", GOMA_SERVER_PORT: String(port), GOMA_USE_SSL: "false",
        GOMA_TMP_DIR: join(dir, "tmp"), GOMA_CACHE_DIR: join(dir, "cache"), GOMA_COMPILER_PROXY_PORT: String(dashPort),
        // Goma's LocalOutputCache, as a user who wants ccache-like warm builds sets it (off by default in
        // Goma): hits are served by the proxy without a round trip to the server. Private, wiped when cold.
        GOMA_LOCAL_OUTPUT_CACHE_DIR: join(dir, "local-output-cache"),
      };
      const r = await runQuiet([...ctx.self, "proxy", "start"], { env, timeoutMs: 120_000 });
      const pid = /\(pid (\d+)\)/.exec(r.stdout)?.[1];
      const dash = /dashboard http:\/\/127\.0\.0\.1:(\d+)/.exec(r.stdout)?.[1];
      if (r.code !== 0 || !pid || !dash) throw new BenchError(`goma proxy start failed: ${firstLine(r.stderr || r.stdout)}`, 1);
      proxyPid = Number(pid);
      dashPort = Number(dash);
    },
    resetCounters: async () => {
      base = await stats();
    },
    counters: async () => {
      const s = await stats();
      const d = (k: string) => (s[k] ?? 0) - (base[k] ?? 0);
      return { compiles: d("total"), hits: d("cacheHit"), misses: d("remote"), fallbacks: d("localFallback") + d("failed") };
    },
    tasks: async () => {
      const r = await fetch(`http://127.0.0.1:${dashPort}/api/tasks`);
      if (!r.ok) throw new BenchError(`goma proxy /api/tasks: HTTP ${r.status}`, 1);
      const list = (await r.json()) as GomaTask[];
      return list.filter((t) => t.id > (base.total ?? 0));
    },
    stop: async () => {
      if (proxyPid) {
        const p = proxyPid;
        proxyPid = undefined;
        await runQuiet([...ctx.self, "proxy", "stop"], { env, timeoutMs: 30_000 });
        await waitGone(p);
      }
      if (server) {
        const s = server;
        server = undefined;
        if (s.exitCode === null && s.signalCode === null) {
          const exited = new Promise((r) => s.once("exit", r));
          s.kill("SIGTERM");
          await Promise.race([exited, delay(10_000)]);
          if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
        }
      }
    },
  };

  /** Starts `goma server --port 0` and resolves with the port it prints once it listens. */
  function startServer(cacheDir: string): Promise<number> {
    const log = createWriteStream(join(dir, "server.log"));
    const child = spawn(ctx.self[0]!, [...ctx.self.slice(1), "server", "--port", "0", "--cache-dir", cacheDir], {
      env: ctx.baseEnv, stdio: ["ignore", "pipe", "pipe"],
    });
    server = child;
    child.stderr!.pipe(log);
    return new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new BenchError("goma server did not say it listens within 60 s", 1)), 60_000);
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        log.write(b);
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new BenchError(`cannot start goma server: ${e.message}`, 1));
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        let tail = "";
        try {
          tail = readFileSync(join(dir, "server.log"), "utf8").trim().split("\n").pop() ?? "";
        } catch {
          // no log
        }
        reject(new BenchError(`goma server exited (${code}) before it listened: ${tail}`, 1));
      });
    });
  }
  return tool;
}
