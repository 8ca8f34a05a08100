/**
 * `goma proxy run`: the compiler_proxy daemon. Listens on the unix socket in GOMA_TMP_DIR (created 0700)
 * for `goma cc` requests and control requests, and serves the dashboard on 127.0.0.1
 * (GOMA_COMPILER_PROXY_PORT, default 8088). Each connection carries one framed request
 * (lib/ipc/protocol.ts). A failing task never takes the daemon down: it answers `local`.
 */
import { createServer, createConnection, type Server, type Socket } from "node:net";
import { mkdirSync, statSync, unlinkSync, chmodSync, readFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { hostname } from "node:os";
import { encodeFrame, FrameReader, type CcReport, type CcRequest } from "../ipc/protocol.ts";
import { gomaTmpDir, proxySocketPath, unreachedSpoolPath, userName } from "../ipc/paths.ts";
import { GomaHttpClient, serverConfigForProxy } from "../goma/http-client.ts";
import { serveHttp, type HttpServer } from "../platform/serve.ts";
import { GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";
import { VERSION } from "../util/version.ts";
import { FileHashCache } from "./file-hash-cache.ts";
import { TaskLog } from "./tasks.ts";
import { runTask, type TaskContext } from "./task.ts";
import { Breaker } from "./breaker.ts";
import { createDashboard } from "./dashboard.ts";
import { IncludeProcessor } from "../include/index.ts";
import { createProxyMetrics } from "./metrics.ts";
import { cachedCompilerInfos } from "../compiler/info-cache.ts";
import { recentLogLines } from "../util/log.ts";
import { gomaBool } from "../config/goma-env.ts";
import { localOutputCacheFromEnv, type LocalOutputCache } from "./local-output-cache.ts";

/**
 * A control request on the socket: `quit` (goma proxy stop), `stats` (goma proxy status: counters,
 * health, ports), `summary` (goma proxy stats: lib/proxy/tasks.ts `StatsSummary`), `zero` (goma proxy
 * stats --zero: resets the counters, answers the summary before the reset), `health` (pings the server
 * now, then answers as `stats`: goma doctor's fresh view), `tasks`, `ping`.
 */
export interface ControlRequest {
  v: 1;
  control: "quit" | "stats" | "tasks" | "ping" | "summary" | "zero" | "health";
}

/** A connection without a complete request after this long gets an error answer and is closed (ms). */
const IPC_IDLE_MS = 60_000;

/**
 * Why a decoded IPC header is not a request the proxy can serve, or "" when it is one: a control
 * request, a report of goma cc (`report` an object: lib/ipc/protocol.ts `CcReport`), or a compile request
 * with `argv` a non-empty string array, `cwd` a string and `env` an object
 * of strings. (Other versions get a `local` answer from the handler, as before.)
 */
export function requestProblem(h: unknown): string {
  if (!h || typeof h !== "object" || Array.isArray(h)) return `the header is ${h === null ? "null" : Array.isArray(h) ? "an array" : typeof h}, not an object`;
  const r = h as Record<string, unknown>;
  if ("control" in r) return typeof r.control === "string" ? "" : "control is not a string";
  if ("report" in r) return r.report && typeof r.report === "object" && !Array.isArray(r.report) ? "" : "report is not an object";
  if (r.v !== 1) return "";
  if (!Array.isArray(r.argv) || r.argv.length === 0 || !r.argv.every((a) => typeof a === "string")) return "argv is not a non-empty array of strings";
  if (typeof r.cwd !== "string") return "cwd is not a string";
  if (!r.env || typeof r.env !== "object" || Array.isArray(r.env) || !Object.values(r.env).every((v) => typeof v === "string")) {
    return "env is not an object of strings";
  }
  return "";
}

/** A running proxy. */
export interface RunningProxy {
  socketPath: string;
  dashboardPort: number;
  /** Resolves when the proxy has stopped (after `stop()` or a quit request). */
  closed: Promise<void>;
  stop(): Promise<void>;
}

/** True when something answers on the unix socket `path`. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Starts the proxy with the environment `env` (GOMA_* variables).
 * @throws {GomaError} FailedPrecondition when another proxy answers on the socket, or the dashboard
 * port and the next 9 are taken; InvalidArgument for malformed GOMA_* values.
 */
export async function startProxy(env: Record<string, string | undefined>): Promise<RunningProxy> {
  // GOMA_HTTP_AUTHORIZATION_FILE, else the stored token; an unreadable file is reported, never fatal.
  const serverConfig = serverConfigForProxy(env);
  const authProblem = serverConfig.authorizationProvider?.().error;
  if (authProblem) log.warn(`${authProblem}: every compile runs locally until it is fixed`);
  const socketPath = proxySocketPath(env);
  const tmp = gomaTmpDir(env);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  chmodSync(tmp, 0o700);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (await socketAlive(socketPath)) throw new GomaError(9, `another goma proxy is running on ${socketPath}`);
  try {
    unlinkSync(socketPath);
  } catch {
    // no stale socket
  }
  const cacheDir = env.GOMA_CACHE_DIR || join(tmp, "goma_cache");
  mkdirSync(cacheDir, { recursive: true });
  // The include processor's per-compiler probe survives restarts (about one `gcc -M` saved per compiler).
  const includes = new IncludeProcessor({ probeCacheDir: join(cacheDir, "include_probe") });
  let localCache: LocalOutputCache | undefined;
  try {
    localCache = localOutputCacheFromEnv(env);
  } catch (e) {
    throw new GomaError(3, (e as Error).message);
  }
  if (localCache) log.info(`local output cache in ${localCache.dir}`);
  const http = new GomaHttpClient(serverConfig);
  const tasks = new TaskLog();
  const startedAt = Date.now();
  const ctx: TaskContext = {
    http,
    files: new FileHashCache(),
    tasks,
    cacheDir,
    serverHas: new Set(),
    compilerProxyId: `${userName(env)}@${hostname()}:${process.pid}/${startedAt}`,
    includeProcessor: gomaBool(env.GOMA_USE_INCLUDE_PROCESSOR) !== false,
    includes,
    breaker: new Breaker(),
    localCache,
  };
  let health = "running: ping no response";
  const ping = (): Promise<void> =>
    http.ping().then(
      () => void (health = "ok"),
      (e) => void (health = `running: ${GomaError.from(e).rawMessage}`),
    );
  void ping();
  // Bytes counted by the HTTP client at the last `goma proxy stats --zero`.
  const bytesBase = { sent: 0, received: 0 };
  const summary = () => {
    ingestSpool();
    return tasks.summary({ sent: http.stats.bytesSent - bytesBase.sent, received: http.stats.bytesReceived - bytesBase.received });
  };
  // Compiles goma cc ran while no proxy answered (lib/cc/run.ts): counted now, then forgotten.
  const spool = unreachedSpoolPath(env);
  const ingestSpool = () => {
    const taken = `${spool}.${process.pid}`;
    try {
      renameSync(spool, taken);
    } catch {
      return; // none spooled
    }
    try {
      for (const line of readFileSync(taken, "utf8").split("\n").slice(0, 100_000)) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line) as CcReport["report"];
          if (r && typeof r === "object") tasks.report({ ...r, id: undefined });
        } catch {
          // a torn or foreign line: skipped
        }
      }
    } catch (e) {
      log.warn(`${spool}: ${(e as Error).message}`);
    } finally {
      try {
        unlinkSync(taken);
      } catch {
        // gone already
      }
    }
  };
  const metrics = createProxyMetrics({ tasks, http, breaker: ctx.breaker, health: () => health });
  tasks.onFinish = (t) => {
    metrics.observe(t);
    if (t.outcome === "localFallback" || t.outcome === "failed") log.info(`task ${t.id} ${t.outcome}: ${(t.reason ?? "").split("\n")[0]}`);
  };
  ingestSpool();

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping = false;
  let dash: HttpServer | undefined;
  const ipc: Server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
    // One request per connection. Anything that is not a complete, well-formed request gets a one-line
    // error answer and the connection is closed: never a hang, never an exception in the daemon.
    const reader = new FrameReader<unknown>(() => 0);
    let answered = false;
    let received = 0;
    const refuse = (why: string) => {
      if (answered) return;
      answered = true;
      sock.end(encodeFrame({ kind: "error", reason: `malformed request: ${why.split("\n")[0]}` }));
    };
    sock.on("error", () => sock.destroy());
    sock.setTimeout(IPC_IDLE_MS, () => {
      refuse(`no complete request within ${IPC_IDLE_MS / 1000} s (${received} bytes received)`);
      sock.destroy();
    });
    sock.on("end", () => refuse(`the connection ended after ${received} bytes, before a complete request`));
    sock.on("data", (chunk: Buffer) => {
      if (answered) return;
      received += chunk.byteLength;
      let frame;
      try {
        frame = reader.push(new Uint8Array(chunk));
      } catch (e) {
        return refuse((e as Error).message);
      }
      if (!frame) return;
      const problem = requestProblem(frame.header);
      if (problem) return refuse(problem);
      answered = true;
      sock.setTimeout(0);
      handle(frame.header as CcRequest | ControlRequest, sock).catch((e) => {
        log.warn(`ipc request failed: ${(e as Error)?.stack ?? String(e)}`);
        if (!sock.destroyed) sock.end(encodeFrame({ kind: "local", reason: `goma proxy internal error: ${(e as Error)?.message ?? String(e)}` }));
      });
    });
  });
  const handle = async (h: CcRequest | ControlRequest | CcReport, sock: Socket) => {
    if (!h || typeof h !== "object") return void sock.destroy();
    if ("report" in h) {
      // goma cc's fire-and-forget report of a local run: counted, nothing answered.
      if (h.report && typeof h.report === "object") tasks.report(h.report);
      return void sock.end();
    }
    if ("control" in h) {
      if (h.control === "quit") {
        sock.end(encodeFrame({ ok: true }));
        void stop();
        return;
      }
      if (h.control === "stats") {
        const a = serverConfig.authorizationProvider?.();
        const auth = a && { source: a.source, path: a.path, error: a.error }; // never the header itself
        return void sock.end(encodeFrame({ ...tasks.stats, health, dashboardPort: dash?.port, server: http.baseUrl, auth, pid: process.pid, version: VERSION }));
      }
      if (h.control === "tasks") return void sock.end(encodeFrame(tasks.list()));
      if (h.control === "summary") return void sock.end(encodeFrame(summary()));
      if (h.control === "zero") {
        const before = summary();
        tasks.zero();
        bytesBase.sent = http.stats.bytesSent;
        bytesBase.received = http.stats.bytesReceived;
        return void sock.end(encodeFrame(before));
      }
      if (h.control === "health") {
        await ping();
        return void sock.end(encodeFrame({ ...tasks.stats, health, dashboardPort: dash?.port, server: http.baseUrl, pid: process.pid, version: VERSION }));
      }
      return void sock.end(encodeFrame({ ok: true, health }));
    }
    if (h.v !== 1 || !Array.isArray(h.argv) || typeof h.cwd !== "string") {
      return void sock.end(encodeFrame({ kind: "local", reason: "unknown request version" }));
    }
    if (health !== "ok") void ping();
    const ans = await runTask(h, ctx);
    if (ans.header.kind === "done") sock.end(encodeFrame(ans.header, ans.stdout!, ans.stderr!));
    else sock.end(encodeFrame(ans.header));
  };
  await new Promise<void>((resolve, reject) => {
    ipc.once("error", reject);
    ipc.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);

  const basePort = Number(env.GOMA_COMPILER_PROXY_PORT || 8088);
  const dashboard = createDashboard(tasks, {
    version: VERSION,
    server: http.baseUrl,
    health: () => health,
    summary,
    metrics,
    compilerInfos: cachedCompilerInfos,
    logLines: recentLogLines,
    extra: () => ({
      socket: socketPath,
      cacheDir,
      "cached files": ctx.files.size,
      "server has": ctx.serverHas.size,
      ...Object.fromEntries(Object.entries(ctx.breaker!.state()).map(([k, v]) => [`breaker.${k}`, v])),
      ...http.stats,
      ...(localCache ? Object.fromEntries(Object.entries(localCache.stats()).map(([k, v]) => [`localOutputCache.${k}`, v])) : {}),
      ...Object.fromEntries(Object.entries(includes.stats()).map(([k, v]) => [`include.${k}`, v])),
    }),
  });
  for (let p = basePort; p < basePort + 10 && !dash; p++) {
    try {
      dash = await serveHttp({ hostname: "127.0.0.1", port: p, handler: dashboard });
    } catch (e) {
      log.warn(`dashboard port ${p}: ${(e as Error).message}`);
      if (basePort === 0) break;
    }
  }
  if (!dash) {
    ipc.close();
    throw new GomaError(9, `dashboard ports ${basePort}..${basePort + 9} are all taken (GOMA_COMPILER_PROXY_PORT)`);
  }
  const stop = async () => {
    if (stopping) return closed;
    stopping = true;
    await new Promise<void>((r) => ipc.close(() => r()));
    await dash!.stop();
    await localCache?.drain(); // results being stored are written whole before the proxy exits
    try {
      if (statSync(socketPath).isSocket()) unlinkSync(socketPath);
    } catch {
      // already gone
    }
    resolveClosed();
  };
  log.info(`goma proxy ${VERSION} on ${socketPath}, dashboard http://127.0.0.1:${dash.port}, server ${http.baseUrl}`);
  return { socketPath, dashboardPort: dash.port, closed, stop };
}

/** Sends a control request to a running proxy and returns its JSON answer. */
export function control(socketPath: string, op: ControlRequest["control"]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader<unknown>(() => 0);
    const s = createConnection(socketPath);
    s.once("connect", () => s.write(encodeFrame({ v: 1, control: op } satisfies ControlRequest)));
    s.on("data", (c: Buffer) => {
      const f = reader.push(new Uint8Array(c));
      if (f) {
        s.end();
        resolve(f.header);
      }
    });
    s.once("error", reject);
  });
}
