/**
 * Builds and starts the server's object graph: embedded backend (unless an address is given) → REAPI
 * client → file store → `/e` adapter → HTTP handler → listener. One code path for every backend: the
 * embedded one is reached through the same gRPC client as Buildbarn.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
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
import { backendCredentials, type BackendCredentialOptions } from "../auth/backend-credentials.ts";
import { log } from "../util/log.ts";
import { withDoctorEndpoint } from "../doctor/server-endpoint.ts";

/** Everything `goma server` is configured with. */
export interface ServerConfig {
  port: number;
  listen: string;
  /** REAPI endpoint; undefined starts the embedded backend. */
  remoteexecAddr?: string;
  instanceName: string;
  /** bb_scheduler's BuildQueueState service (`host:port`), for `goma doctor`'s scheduler checks. */
  buildbarnScheduler?: string;
  insecure: boolean;
  platform: Record<string, string>;
  envPrefixes?: string[];
  cacheDir: string;
  concurrency: number;
  maxRequestBytes: number;
  /** Who may call the Goma API (lib/auth/server-auth.ts); no files: no auth (loopback only, or allowUnauthenticated). */
  auth?: { tokensFile?: string; secretFile?: string; allowedUsers?: string[]; allowUnauthenticated?: boolean };
  /** How to authenticate to `remoteexecAddr` (lib/auth/backend-credentials.ts). */
  backendAuth?: BackendCredentialOptions;
}

/** A running server. */
export interface RunningServer {
  port: number;
  listen: string;
  backend: string;
  stop(): Promise<void>;
}

/**
 * Starts everything; resolves once the HTTP port is bound.
 * @throws {GomaError} FailedPrecondition when listening off loopback without auth (and without
 * `allowUnauthenticated`), or when an auth file cannot be read or parsed.
 */
export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const hasAuth = Boolean(cfg.auth?.tokensFile || cfg.auth?.secretFile);
  const refusal = unauthenticatedListenProblem(cfg.listen, hasAuth, Boolean(cfg.auth?.allowUnauthenticated));
  if (refusal) throw new GomaError(Code.FailedPrecondition, refusal);
  if (cfg.auth?.allowedUsers?.length && !hasAuth) {
    throw new GomaError(Code.FailedPrecondition, "--allowed-users needs --auth-tokens or --auth-secret: without tokens nobody is identified");
  }
  const auth = hasAuth ? new Authenticator({ ...cfg.auth }) : undefined;
  const creds = backendCredentials(cfg.backendAuth ?? {});
  if (!cfg.remoteexecAddr && (creds.useTls || creds.bearerToken)) {
    throw new GomaError(Code.FailedPrecondition, "backend credentials (--remoteexec-token-file, --service-account-json, --remoteexec-ca-cert …) need --remoteexec-addr: the embedded backend speaks plaintext on loopback");
  }
  if (cfg.insecure && creds.useTls) {
    throw new GomaError(Code.FailedPrecondition, "--insecure-remoteexec contradicts --remoteexec-ca-cert / --remoteexec-client-cert / --remoteexec-tls-server-name: drop one");
  }
  await creds.ready().catch((e) => log.warn(`${GomaError.from(e).rawMessage}; starting anyway, backend calls fail until a token arrives (goma doctor shows it)`));
  let target: string = cfg.remoteexecAddr ?? "";
  let embedded: { address: string; close(): Promise<void> } | undefined;
  if (!target) {
    const { startEmbeddedBackend } = await import("../backend/embedded-backend.ts");
    const dataDir = join(cfg.cacheDir, "backend");
    mkdirSync(dataDir, { recursive: true });
    const started = await startEmbeddedBackend({ dataDir, concurrency: cfg.concurrency, platform: cfg.platform });
    embedded = started;
    target = started.address;
  }
  const loopback = isLoopbackTarget(target);
  const reapiOptions: ReapiClientOptions = {
    target,
    instanceName: cfg.instanceName,
    insecure: cfg.insecure || (loopback && !creds.useTls),
    tls: creds.tls,
    bearerToken: creds.bearerToken,
    toolName: "goma",
    toolVersion: VERSION,
    onExecuteRetry: (d, message, attempt) =>
      log.warn(`the backend lost the execution of action ${d.hash}/${d.sizeBytes} (${message}): executing it again (retry ${attempt})`),
  };
  const reapi = new ReapiClient(reapiOptions);
  const files = new FileStore();
  const exec = new ExecAdapter({
    reapi, files, platform: cfg.platform, envPrefixes: cfg.envPrefixes,
    backendName: embedded ? `the embedded backend at ${target}` : `REAPI ${target}`, instanceName: cfg.instanceName,
  });
  const backend = embedded ? `embedded at ${target}, data in ${join(cfg.cacheDir, "backend")}` : `REAPI ${target}`;
  const authCounters = { authFailures: 0 };
  const gomaHandler = createGomaHandler({
    exec,
    files,
    maxRequestBytes: cfg.maxRequestBytes,
    describe: () => ({
      version: VERSION,
      backend,
      "instance name": JSON.stringify(cfg.instanceName),
      platform: Object.entries(cfg.platform).map(([k, v]) => `${k}=${v}`).sort().join(","),
      auth: auth ? auth.describe() : "none (loopback or --allow-unauthenticated)",
      "backend credentials": creds.describe(),
      "auth failures": String(authCounters.authFailures),
    }),
  });
  // Outermost layer: auth (401 before any handler runs, reference/goma-protocol.md §1.4).
  // Then `goma doctor`'s backend checks, with this server's backend, credentials and platform.
  const doctorHandler = withDoctorEndpoint(gomaHandler, () => new ReapiClient({ ...reapiOptions, toolName: "goma-doctor" }), {
    target: embedded ? `the embedded backend at ${target}` : target,
    instanceName: cfg.instanceName,
    platform: cfg.platform,
    tls: !reapiOptions.insecure,
    caCert: Boolean(cfg.backendAuth?.caCert),
    bearer: Boolean(creds.bearerToken),
    scheduler: cfg.buildbarnScheduler
      ? { target: cfg.buildbarnScheduler, insecure: reapiOptions.insecure, tls: reapiOptions.tls, bearerToken: reapiOptions.bearerToken }
      : undefined,
  });
  const handler = withAuth(auth, doctorHandler, authCounters);
  const http = await serveHttp({ hostname: cfg.listen, port: cfg.port, handler, maxRequestBodySize: cfg.maxRequestBytes * 2 });
  return {
    port: http.port,
    listen: cfg.listen,
    backend,
    async stop() {
      await http.stop();
      reapi.close();
      await embedded?.close();
    },
  };
}
