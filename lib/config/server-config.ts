/**
 * `goma server`'s configuration, `ServerConfig`, built once from its flags (remoteexec_proxy's,
 * reference/goma-protocol.md §3.1) and the variables of {@link SERVER_VARS} (a flag, when given, wins).
 * lib/server/start.ts builds the object graph from it; the embedded backend's store settings
 * (`cacheDir`, `cacheMaxBytes`) are fields here so the code that builds the stores reads them from one
 * place.
 *
 * Every default comes from lib/config/goma-env.ts `DEFAULTS` (and the flag table of lib/server/cli.ts
 * shows the same values). A malformed value fails with one line naming the flag or variable
 * (UsageError: `goma server: …`, exit status 2).
 */
import { join } from "node:path";
import { availableParallelism, homedir } from "node:os";
import { DEFAULTS, envLogLevel, envString, gomaBool, type Env } from "./goma-env.ts";
import type { LogLevel } from "../util/log.ts";
import { GomaError } from "../util/status.ts";
import { intFlag, platformProperties, repeated, UsageError } from "../util/cli-args.ts";

/**
 * How `goma server` authenticates to its REAPI backend (lib/auth/backend-credentials.ts builds the
 * credentials from it): the `--remoteexec-token-file`, `--service-account-json`, … flags.
 */
export interface BackendCredentialOptions {
  tokenFile?: string;
  serviceAccountJson?: string;
  serviceAccountScope?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  tlsServerName?: string;
}

/** Everything `goma server` is configured with. */
export interface ServerConfig {
  /** `--port`: HTTP port of the Goma API; 0: any free port (default 5050). */
  port: number;
  /** `--listen`: address to listen on (default 127.0.0.1). */
  listen: string;
  /** REAPI endpoint; undefined starts the embedded backend. */
  remoteexecAddr?: string;
  /**
   * `--remote-cache-addr`: a cache-only REAPI service (CAS and ActionCache, no Execution needed, e.g.
   * BuildGrid without a worker) that the embedded backend uses as its stores of record: it executes the
   * actions itself, and their inputs, outputs and results are written there and read from there. Excludes
   * `remoteexecAddr`; the backend credentials and `--remote-instance-name` apply to it.
   */
  remoteCacheAddr?: string;
  /**
   * `HOST:PORT` the embedded backend listens on, for other REAPI clients (Bazel …); undefined: a random
   * loopback port for this server alone. Off loopback only with auth (as for the Goma port).
   */
  reapiListen?: string;
  /**
   * Embedded backend: which commands it runs (lib/backend/command-policy.ts `CommandPolicy`); default
   * `"toolchain"`. `"any"` is for REAPI clients such as Bazel that run arbitrary actions (`--exec-commands any`).
   */
  commandPolicy?: "toolchain" | "any";
  /** REAPI instance name (`--remote-instance-name`; empty stays empty). */
  instanceName: string;
  /** bb_scheduler's BuildQueueState service (`host:port`), for `goma doctor`'s scheduler checks. */
  buildbarnScheduler?: string;
  /** `--insecure-remoteexec`: plaintext gRPC to the backend (default for loopback). */
  insecure: boolean;
  /** REAPI Platform properties sent with every Action (default OSFamily=linux). */
  platform: Record<string, string>;
  /** Directories the workers provide, each ending in `/` (default: lib/server's /usr /lib* /bin /sbin /etc). */
  envPrefixes?: string[];
  /** Embedded backend's CAS, action cache and work dirs (`--cache-dir`, default `$XDG_CACHE_HOME/goma`). */
  cacheDir: string;
  /**
   * Size limit of the embedded backend's CAS and action cache together, bytes; LRU eviction beyond it.
   * 0: no limit. Default 10 GiB (`--cache-max-size-mb`, GOMA_SERVER_CACHE_MAX_SIZE_MB).
   */
  cacheMaxBytes?: number;
  /** Embedded backend: actions run at once (`--exec-concurrency`, default: cores). */
  concurrency: number;
  /** Largest request body, bytes (413 beyond; `--max-request-bytes`, default 64 MiB). */
  maxRequestBytes: number;
  /**
   * Who may call the Goma API and the embedded backend (lib/auth/server-auth.ts). Without token files
   * on loopback, the per-user local token `localTokenFile` (lib/auth/local-token.ts) is required;
   * `allowUnauthenticated` drops every check.
   */
  auth?: { tokensFile?: string; secretFile?: string; allowedUsers?: string[]; allowUnauthenticated?: boolean; localTokenFile?: string };
  /** How to authenticate to `remoteexecAddr` (lib/auth/backend-credentials.ts). */
  backendAuth?: BackendCredentialOptions;
  /**
   * Embedded backend: the server's own REAPI client calls its handlers in this process
   * (lib/reapi/in-process-server.ts) instead of over loopback gRPC (GOMA_SERVER_INPROC, default true).
   * The gRPC port is served either way (other clients, `goma doctor`).
   */
  inProcess?: boolean;
  /** Embedded backend: run actions under bubblewrap (lib/backend/sandbox.ts); default `"auto"`. */
  sandbox?: "auto" | "off" | "required";
  /** GOMA_LOG_LEVEL (default info): startServer sets lib/util/log.ts's level to it. */
  logLevel: LogLevel;
}

/** `$XDG_CACHE_HOME/goma`, else `~/.cache/goma`: the embedded backend's default `--cache-dir`. */
export function defaultCacheDir(env: Env = process.env): string {
  return join(envString(env, "XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "goma");
}

/** The embedded cache's size limit when neither the flag nor GOMA_SERVER_CACHE_MAX_SIZE_MB is set: 10 GiB. */
export const DEFAULT_CACHE_MAX_SIZE_MIB = DEFAULTS.serverCacheMaxSizeMib;

/**
 * Parses `--cache-max-size-mb` / GOMA_SERVER_CACHE_MAX_SIZE_MB: a whole number of MiB, 0 for no limit.
 * @returns the MiB (default {@link DEFAULT_CACHE_MAX_SIZE_MIB} when unset), or an error message.
 * @example
 * cacheMaxSizeMib("2048") // 2048
 * cacheMaxSizeMib("10G")  // 'cache size limit must be a whole number of MiB (0: no limit), got "10G"'
 */
export function cacheMaxSizeMib(value: string | undefined): number | string {
  if (value === undefined) return DEFAULT_CACHE_MAX_SIZE_MIB;
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value) * 1024 * 1024)) {
    return `cache size limit must be a whole number of MiB (0: no limit), got "${value}" (--cache-max-size-mb or GOMA_SERVER_CACHE_MAX_SIZE_MB)`;
  }
  return Number(value);
}

/** The parsed flags as citty gives them (strings and booleans by long name); absent means the default. */
export type ServerFlags = Readonly<Record<string, unknown>>;

const opt = (v: unknown): string | undefined => (v === undefined || v === "" ? undefined : String(v));

/**
 * Builds the server's config from its flags and environment. `auth.localTokenFile` is left for the
 * caller (lib/server/cli.ts sets it from lib/auth/local-token.ts: lib/config does not import lib/auth).
 * @param args citty's parsed flags (`{ port: "5050", "cache-dir": "/c", … }`).
 * @param rawArgs the command line after `server`, for the repeatable flags (`--platform-property`, `--env-prefix`).
 * @param env GOMA_SERVER_CACHE_MAX_SIZE_MB, GOMA_SERVER_INPROC, XDG_CACHE_HOME, GOMA_LOG_LEVEL.
 * @throws {UsageError} one line naming the flag or variable: `--port wants a whole number from 0 to 65535, got "x"`,
 * `cache size limit must be a whole number of MiB …`, `--exec-sandbox must be auto, required or off, got "…"` …
 */
export function serverConfigFromFlags(args: ServerFlags, rawArgs: string[], env: Env = process.env): ServerConfig {
  const platform = platformProperties(rawArgs);
  if (!Object.keys(platform).length) platform.OSFamily = "linux";
  if (args["platform-container-image"]) platform["container-image"] = String(args["platform-container-image"]);
  const cacheMaxMib = cacheMaxSizeMib(opt(args["cache-max-size-mb"]) ?? envString(env, "GOMA_SERVER_CACHE_MAX_SIZE_MB"));
  if (typeof cacheMaxMib === "string") throw new UsageError(cacheMaxMib);
  const sandbox = String(args["exec-sandbox"] ?? "auto");
  if (sandbox !== "auto" && sandbox !== "off" && sandbox !== "required") {
    throw new UsageError(`--exec-sandbox must be auto, required or off, got "${sandbox}"`);
  }
  const commandPolicy = String(args["exec-commands"] ?? "toolchain");
  if (commandPolicy !== "toolchain" && commandPolicy !== "any") {
    throw new UsageError(`--exec-commands must be toolchain or any, got "${commandPolicy}"`);
  }
  const inProcessVar = envString(env, "GOMA_SERVER_INPROC");
  const inProcess = gomaBool(inProcessVar);
  if (inProcessVar !== undefined && inProcess === undefined) throw new UsageError(`GOMA_SERVER_INPROC must be true or false, got "${inProcessVar}"`);
  const envPrefixes = repeated(rawArgs, "--env-prefix").map((p) => (p.endsWith("/") ? p : p + "/"));
  let logLevel: LogLevel;
  try {
    logLevel = envLogLevel(env);
  } catch (e) {
    throw new UsageError(GomaError.from(e).rawMessage);
  }
  return {
    port: intFlag("--port", args.port ?? DEFAULTS.serverPort, 0, 65535),
    listen: String(args.listen ?? DEFAULTS.serverListen),
    remoteexecAddr: args["remoteexec-addr"] ? String(args["remoteexec-addr"]) : undefined,
    remoteCacheAddr: args["remote-cache-addr"] ? String(args["remote-cache-addr"]) : undefined,
    reapiListen: opt(args["reapi-listen"]),
    commandPolicy,
    instanceName: String(args["remote-instance-name"] ?? ""),
    buildbarnScheduler: opt(args["buildbarn-scheduler"]),
    insecure: Boolean(args["insecure-remoteexec"]),
    platform,
    envPrefixes: envPrefixes.length ? envPrefixes : undefined,
    cacheDir: String(args["cache-dir"] || defaultCacheDir(env)),
    cacheMaxBytes: cacheMaxMib * 1024 * 1024,
    concurrency: args["exec-concurrency"] ? intFlag("--exec-concurrency", args["exec-concurrency"], 1, 4096) : availableParallelism(),
    maxRequestBytes: intFlag("--max-request-bytes", args["max-request-bytes"] ?? DEFAULTS.serverMaxRequestBytes, 1024, 2 ** 32),
    sandbox,
    logLevel,
    inProcess: inProcess ?? DEFAULTS.serverInProcess,
    auth: {
      tokensFile: args["auth-tokens"] ? String(args["auth-tokens"]) : undefined,
      secretFile: args["auth-secret"] ? String(args["auth-secret"]) : undefined,
      allowedUsers: args["allowed-users"] ? String(args["allowed-users"]).split(",").map((u) => u.trim()).filter(Boolean) : undefined,
      allowUnauthenticated: Boolean(args["allow-unauthenticated"]),
    },
    backendAuth: {
      tokenFile: opt(args["remoteexec-token-file"]),
      serviceAccountJson: opt(args["service-account-json"]),
      serviceAccountScope: opt(args["service-account-scope"]),
      caCert: opt(args["remoteexec-ca-cert"]),
      clientCert: opt(args["remoteexec-client-cert"]),
      clientKey: opt(args["remoteexec-client-key"]),
      tlsServerName: opt(args["remoteexec-tls-server-name"]),
    },
  };
}
