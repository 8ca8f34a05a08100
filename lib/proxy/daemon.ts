/**
 * `goma proxy run`: the compiler_proxy daemon, wired from its parts: the config (lib/config/proxy-config.ts,
 * built before), the IPC server on the unix socket in GOMA_TMP_DIR (lib/proxy/ipc-server.ts) for `goma cc`
 * and control requests (lib/proxy/control.ts), the compile tasks (lib/proxy/task.ts), and the dashboard
 * on 127.0.0.1 (lib/proxy/dashboard-server.ts, GOMA_COMPILER_PROXY_PORT, default 8088). A failing task
 * never takes the daemon down: it answers `local`.
 */
import { createConnection, type Server } from "node:net";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { encodeFrame, FrameReader } from "../ipc/protocol.ts";
import { GomaHttpClient, type AuthorizationProvider } from "../goma/http-client.ts";
import type { HttpServer } from "../platform/serve.ts";
import { log, recentLogLines, setLogLevel } from "../util/log.ts";
import { VERSION } from "../util/version.ts";
import type { ProxyConfig } from "../config/proxy-config.ts";
import { FileHashCache } from "./file-hash-cache.ts";
import { TaskLog } from "./tasks.ts";
import { runTask, type TaskContext } from "./task.ts";
import { Breaker } from "./breaker.ts";
import { createDashboard } from "./dashboard.ts";
import { IncludeProcessor } from "../include/index.ts";
import { createProxyMetrics } from "./metrics.ts";
import { cachedCompilerInfos } from "../compiler/info-cache.ts";
import { LocalOutputCache } from "./local-output-cache.ts";
import { claimSocket, listenIpc, removeSocket, socketAlive, requestProblem, type ControlRequest } from "./ipc-server.ts";
import { serveDashboard } from "./dashboard-server.ts";
import { ProxyStats, ServerHealth, type ControlState } from "./control.ts";
import { createRequestHandler } from "./request-handler.ts";
import { ingestUnreachedSpool } from "./unreached-spool.ts";

export { requestProblem, socketAlive, type ControlRequest };

/** A running proxy. */
export interface RunningProxy {
  socketPath: string;
  dashboardPort: number;
  /** Resolves when the proxy has stopped (after `stop()` or a quit request). */
  closed: Promise<void>;
  stop(): Promise<void>;
}

/** What the proxy is given besides its config. */
export interface ProxyDeps {
  /**
   * The Authorization lookup, asked before every request to the server (lib/auth/client-auth.ts
   * `ClientAuthorizationProvider`, built by lib/proxy/cli.ts); none: no header.
   */
  authorization?: AuthorizationProvider;
}

/**
 * Starts the proxy: claims the socket, builds the task context from `config`, listens on the socket,
 * then serves the dashboard.
 * @param config from lib/config/proxy-config.ts `proxyConfigFromEnv` (malformed GOMA_* values fail there).
 * @throws {GomaError} FailedPrecondition when another proxy answers on the socket, or the dashboard
 * port and the next 9 are taken.
 */
export async function startProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<RunningProxy> {
  setLogLevel(config.logLevel);
  // An unreadable auth file is reported, never fatal: each request then fails with it (compiles run locally).
  const authProblem = deps.authorization?.().error;
  if (authProblem) log.warn(`${authProblem}: every compile runs locally until it is fixed`);
  const { socketPath, cacheDir } = config;
  await claimSocket(socketPath, config.tmpDir);
  mkdirSync(cacheDir, { recursive: true });
  // The include processor's per-compiler probe survives restarts (about one `gcc -M` saved per compiler).
  // Include manifests: a compile seen before is listed by re-checking the stats its last scan made.
  const includes = new IncludeProcessor({ probeCacheDir: config.includeProbeCacheDir, manifests: true });
  const localCache = config.localOutputCache && new LocalOutputCache(config.localOutputCache.dir, config.localOutputCache.limits);
  if (localCache) log.info(`local output cache in ${localCache.dir}`);
  const http = new GomaHttpClient({ ...config.server, authorizationProvider: deps.authorization });
  const tasks = new TaskLog();
  const ctx: TaskContext = {
    http,
    files: new FileHashCache(),
    tasks,
    cacheDir,
    serverHas: new Set(),
    compilerProxyId: `${config.userName}@${hostname()}:${process.pid}/${Date.now()}`,
    includeProcessor: config.includeProcessor,
    includes,
    breaker: new Breaker(),
    localCache,
    fallback: config.fallback,
  };
  const health = new ServerHealth(http);
  void health.ping();
  // Compiles goma cc ran while no proxy answered (lib/cc/run.ts): counted now and at every read, then forgotten.
  const ingestSpool = () => void ingestUnreachedSpool(config.unreachedSpoolPath, tasks);
  const stats = new ProxyStats(tasks, http, ingestSpool);
  const metrics = createProxyMetrics({ tasks, http, breaker: ctx.breaker, health: () => health.status });
  tasks.onFinish = (t) => {
    metrics.observe(t);
    if (t.outcome === "localFallback" || t.outcome === "failed") log.info(`task ${t.id} ${t.outcome}: ${(t.reason ?? "").split("\n")[0]}`);
  };
  ingestSpool();

  let ipc: Server | undefined;
  let dash: HttpServer | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping = false;
  // Defined before the socket listens: a quit may arrive while the dashboard is still starting.
  const stop = async () => {
    if (stopping) return closed;
    stopping = true;
    await new Promise<void>((r) => (ipc ? ipc.close(() => r()) : r()));
    await dash?.stop();
    await localCache?.drain(); // results being stored are written whole before the proxy exits
    removeSocket(socketPath);
    resolveClosed();
  };
  const control: ControlState = { tasks, http, health, stats, dashboardPort: () => dash?.port, authorization: deps.authorization };
  const handle = createRequestHandler({ control, compile: (req) => runTask(req, ctx), onQuit: () => void stop() });
  ipc = await listenIpc(socketPath, handle);

  const dashboard = createDashboard(tasks, {
    version: VERSION,
    server: http.baseUrl,
    health: () => health.status,
    summary: () => stats.summary(),
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
  try {
    dash = await serveDashboard(dashboard, config.dashboardPort);
  } catch (e) {
    ipc.close();
    throw e;
  }

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
