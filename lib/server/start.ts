/**
 * Builds and starts the server's object graph: embedded backend (unless an address is given) → REAPI
 * client → file store → `/e` adapter → HTTP handler → listener. One code path for every backend: the
 * embedded one is reached through the same REAPI client as Buildbarn, whose calls go to the backend's
 * handlers in this process (lib/reapi/in-process-server.ts: same messages, statuses, auth check; no
 * loopback round trips) unless `inProcess` is false. Its gRPC port is served either way.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { ensureLocalToken } from "../auth/local-token.ts";
import { userName } from "../ipc/paths.ts";
import { isLoopbackTarget } from "../reapi/rpc-caller.ts";
import { ReapiClient, type ReapiClientOptions } from "../reapi/client.ts";
import { FileStore } from "./file-store.ts";
import { ExecAdapter } from "./exec.ts";
import { createGomaHandler } from "./handler.ts";
import { serveHttp } from "../platform/serve.ts";
import { VERSION } from "../util/version.ts";
import { Code, GomaError } from "../util/status.ts";
import { Authenticator, unauthenticatedListenProblem } from "../auth/server-auth.ts";
import { withAuth } from "../auth/http-auth.ts";
import { backendCredentials } from "../auth/backend-credentials.ts";
import type { ServerConfig } from "../config/server-config.ts";
import { log, setLogLevel } from "../util/log.ts";
import { withDoctorEndpoint } from "../doctor/server-endpoint.ts";
import { createServerMetrics, withMetrics } from "./metrics.ts";

/** Everything `goma server` is configured with: lib/config/server-config.ts builds it from flags and GOMA_*. */
export type { ServerConfig };

/** A running server. */
export interface RunningServer {
  port: number;
  listen: string;
  backend: string;
  /** With `reapiListen`: the embedded backend's address for other clients and how they authenticate, one line. */
  reapiService?: string;
  /** Who may use the server, one line (no secrets). */
  auth: string;
  /** The embedded backend's sandbox, one line; undefined with an external backend. */
  sandbox?: string;
  stop(): Promise<void>;
}

/**
 * Starts everything; resolves once the HTTP port is bound.
 * @throws {GomaError} FailedPrecondition when listening off loopback without auth (and without
 * `allowUnauthenticated`), or when an auth file cannot be read or parsed.
 */
export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  setLogLevel(cfg.logLevel);
  const hasAuth = Boolean(cfg.auth?.tokensFile || cfg.auth?.secretFile);
  const refusal = unauthenticatedListenProblem(cfg.listen, hasAuth, Boolean(cfg.auth?.allowUnauthenticated));
  if (refusal) throw new GomaError(Code.FailedPrecondition, refusal);
  if (cfg.auth?.allowedUsers?.length && !hasAuth) {
    throw new GomaError(Code.FailedPrecondition, "--allowed-users needs --auth-tokens or --auth-secret: without tokens nobody is identified");
  }
  // No token files: the server's own user only, through the local token (unless told to trust everyone).
  const localTokenFile = !hasAuth && !cfg.auth?.allowUnauthenticated ? cfg.auth?.localTokenFile : undefined;
  const localToken = localTokenFile ? ensureLocalToken(localTokenFile) : undefined;
  const auth = hasAuth || localToken
    ? new Authenticator({
      ...cfg.auth,
      fixedTokens: localToken ? [{ token: localToken, user: userName(), source: "local-token" }] : [],
      localTokenPath: localTokenFile,
    })
    : undefined;
  if (cfg.reapiListen !== undefined) {
    if (cfg.remoteexecAddr) throw new GomaError(Code.FailedPrecondition, "--reapi-listen is the embedded backend's address: it contradicts --remoteexec-addr");
    const host = reapiListenHost(cfg.reapiListen);
    const problem = unauthenticatedListenProblem(host, hasAuth, Boolean(cfg.auth?.allowUnauthenticated));
    if (problem) throw new GomaError(Code.FailedPrecondition, problem.replace(`"${host}"`, `"${cfg.reapiListen}" (--reapi-listen)`).replace("--listen 127.0.0.1", "--reapi-listen 127.0.0.1:PORT"));
  }
  if (cfg.remoteCacheAddr && cfg.remoteexecAddr) {
    throw new GomaError(Code.FailedPrecondition, "--remote-cache-addr makes the embedded backend execute with that service as its cache: it contradicts --remoteexec-addr (which executes there); drop one");
  }
  const creds = backendCredentials(cfg.backendAuth ?? {});
  if (!cfg.remoteexecAddr && !cfg.remoteCacheAddr && (creds.useTls || creds.bearerToken)) {
    throw new GomaError(Code.FailedPrecondition, "backend credentials (--remoteexec-token-file, --service-account-json, --remoteexec-ca-cert …) need --remoteexec-addr or --remote-cache-addr: the embedded backend speaks plaintext on loopback");
  }
  if (cfg.insecure && creds.useTls) {
    throw new GomaError(Code.FailedPrecondition, "--insecure-remoteexec contradicts --remoteexec-ca-cert / --remoteexec-client-cert / --remoteexec-tls-server-name: drop one");
  }
  await creds.ready().catch((e) => log.warn(`${GomaError.from(e).rawMessage}; starting anyway, backend calls fail until a token arrives (goma doctor shows it)`));
  let target: string = cfg.remoteexecAddr ?? "";
  const internalToken = randomBytes(32).toString("hex");
  let embedded: import("../backend/embedded-backend.ts").EmbeddedBackend | undefined;
  // --remote-cache-addr: the remote service's CAS and action cache as the embedded backend's stores of record.
  const remoteCache = cfg.remoteCacheAddr
    ? (await import("../blobstore/remote-cas.ts")).remoteStores({
      target: cfg.remoteCacheAddr, instanceName: cfg.instanceName,
      insecure: cfg.insecure || (isLoopbackTarget(cfg.remoteCacheAddr) && !creds.useTls),
      tls: creds.tls, bearerToken: creds.bearerToken, toolName: "goma", toolVersion: VERSION,
    })
    : undefined;
  if (!target) {
    const { startEmbeddedBackend } = await import("../backend/embedded-backend.ts");
    const dataDir = join(cfg.cacheDir, "backend");
    mkdirSync(dataDir, { recursive: true });
    // The backend takes the Goma port's credentials, and a token of the server's own that never leaves
    // this process; with auth off (--allow-unauthenticated), only that token.
    const internal = new Authenticator({ fixedTokens: [{ token: internalToken, user: "goma server", source: "internal" }] });
    // A fixed --reapi-listen address is for other clients: with --allow-unauthenticated they need no token.
    const openToAll = cfg.reapiListen !== undefined && !auth;
    const authorize = (h: string | undefined) => {
      const own = internal.check(h);
      if (own.ok || openToAll) return undefined;
      if (!auth) return `${own.reason} (this backend serves only its goma server)`;
      const r = auth.check(h);
      return r.ok ? undefined : r.reason;
    };
    const started = await startEmbeddedBackend({
      dataDir, concurrency: cfg.concurrency, platform: cfg.platform, maxCacheBytes: cfg.cacheMaxBytes, authorize, sandbox: cfg.sandbox,
      address: cfg.reapiListen, commandPolicy: cfg.commandPolicy, serverDirs: [cfg.cacheDir], envPrefixes: cfg.envPrefixes, slow: remoteCache,
    });
    embedded = started;
    target = started.address;
  }
  // The server reaches its own backend on loopback when it listens on every address.
  const ownTarget = embedded ? target.replace(/^(0\.0\.0\.0|\[::\]):/, (_m, h: string) => (h === "[::]" ? "[::1]:" : "127.0.0.1:")) : target;
  const loopback = isLoopbackTarget(ownTarget);
  const reapiOptions: ReapiClientOptions = {
    target: ownTarget,
    instanceName: cfg.instanceName,
    // The embedded backend speaks plaintext, also on a --reapi-listen address off loopback.
    insecure: cfg.insecure || embedded !== undefined || (loopback && !creds.useTls),
    tls: creds.tls,
    bearerToken: embedded ? () => internalToken : creds.bearerToken,
    toolName: "goma",
    toolVersion: VERSION,
    onExecuteRetry: (d, message, attempt) =>
      log.warn(`the backend lost the execution of action ${d.hash}/${d.sizeBytes} (${message}): executing it again (retry ${attempt})`),
  };
  // The server's own calls skip the loopback channel (`goma doctor` below keeps testing the gRPC port).
  const reapi = new ReapiClient({ ...reapiOptions, inProcess: embedded && cfg.inProcess !== false ? embedded.inProcess : undefined });
  const files = new FileStore();
  const exec = new ExecAdapter({
    reapi, files, platform: cfg.platform, envPrefixes: cfg.envPrefixes,
    backendName: embedded ? `the embedded backend at ${target}` : `REAPI ${target}`, instanceName: cfg.instanceName,
  });
  const backend = embedded
    ? `embedded at ${target}, ${cfg.inProcess === false ? "called over gRPC (GOMA_SERVER_INPROC=false)" : "called in process"}, data in ${join(cfg.cacheDir, "backend")}${cfg.remoteCacheAddr ? `, CAS and action cache of record: REAPI ${cfg.remoteCacheAddr} (--remote-cache-addr)` : ""}`
    : `REAPI ${target}`;
  const reapiService = embedded && cfg.reapiListen !== undefined
    ? `grpc://${target}, instance name "" (any), ${auth ? "header authorization: Bearer <a token of the Goma port>" : "no token needed (--allow-unauthenticated)"}`
    : undefined;
  const authCounters = { authFailures: 0 };
  const gomaHandler = createGomaHandler({
    exec,
    files,
    maxRequestBytes: cfg.maxRequestBytes,
    describe: () => ({
      version: VERSION,
      backend,
      ...(reapiService ? { "REAPI service (--reapi-listen)": reapiService } : {}),
      ...(embedded ? { "commands run": cfg.commandPolicy === "any" ? "any (--exec-commands any)" : "declared compilers through goma's wrapper (--exec-commands toolchain)" } : {}),
      "instance name": JSON.stringify(cfg.instanceName),
      platform: Object.entries(cfg.platform).map(([k, v]) => `${k}=${v}`).sort().join(","),
      auth: auth ? auth.describe() : "none (--allow-unauthenticated)",
      "backend credentials": creds.describe(),
      "auth failures": String(authCounters.authFailures),
      ...(embedded ? storeLines(embedded.storeStats()) : {}),
      ...(embedded ? { sandbox: embedded.sandbox.describe } : {}),
    }),
  });
  // Outermost layer: auth (401 before any handler runs, reference/goma-protocol.md §1.4).
  // Then `goma doctor`'s backend checks, with this server's backend, credentials and platform.
  const doctorHandler = withDoctorEndpoint(gomaHandler, () => new ReapiClient({ ...reapiOptions, toolName: "goma-doctor" }), {
    target: embedded ? `the embedded backend at ${target}${reapiService ? " (--reapi-listen: other REAPI clients use it too)" : ""}` : target,
    instanceName: cfg.instanceName,
    platform: cfg.platform,
    tls: !reapiOptions.insecure,
    caCert: Boolean(cfg.backendAuth?.caCert),
    bearer: Boolean(creds.bearerToken),
    sandbox: embedded?.sandbox,
    scheduler: cfg.buildbarnScheduler
      ? { target: cfg.buildbarnScheduler, insecure: reapiOptions.insecure, tls: reapiOptions.tls, bearerToken: reapiOptions.bearerToken }
      : undefined,
  });
  // Outermost of all: /metrics, and the count of every request (refused ones included).
  const metrics = createServerMetrics({ exec, files });
  const handler = withMetrics(metrics, withAuth(auth, doctorHandler, authCounters));
  const http = await serveHttp({ hostname: cfg.listen, port: cfg.port, handler, maxRequestBodySize: cfg.maxRequestBytes * 2 });
  return {
    port: http.port,
    listen: cfg.listen,
    backend,
    reapiService,
    auth: auth ? auth.describe() : "none: anyone who reaches the port (--allow-unauthenticated)",
    sandbox: embedded?.sandbox.describe,
    async stop() {
      await http.stop();
      metrics.close();
      reapi.close();
      await embedded?.close();
      remoteCache?.close();
    },
  };
}

/**
 * The host of a `--reapi-listen` address: `127.0.0.1:8980` → `127.0.0.1`, `[::1]:8980` → `::1`.
 * @throws {GomaError} InvalidArgument unless the address is `HOST:PORT` with a port 1–65535 (or 0: any
 * free port).
 */
export function reapiListenHost(address: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]\s/]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65535) {
    throw new GomaError(Code.InvalidArgument, `--reapi-listen wants HOST:PORT (e.g. 127.0.0.1:8980), got "${address}"`);
  }
  return m[1]!.replace(/^\[(.*)\]$/, "$1");
}

/** Status-page lines for the embedded stores: integrity counters and the size limit. */
function storeLines(st: import("../backend/embedded-backend.ts").EmbeddedStoreStats): Record<string, string> {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return {
    "corrupt blobs removed": String(st.corruptBlobs),
    "corrupt action-cache entries removed": String(st.corruptEntries),
    "cache size": st.size
      ? `${mib(st.size.totalBytes)} of ${mib(st.size.maxBytes)} in ${st.size.entries} entries; evicted ${st.size.evictedEntries} (${mib(st.size.evictedBytes)})`
      : "no limit",
  };
}
