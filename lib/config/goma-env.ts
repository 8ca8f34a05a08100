/**
 * The `GOMA_*` environment variables as Goma reads them: one boolean spelling, typed readers that fail
 * with one clear line, every default in one table ({@link DEFAULTS}), and the tables of what the proxy
 * and the server read, which `goma proxy --help` and `goma server --help` print. Lean: imports only
 * lib/util/status.ts and lib/util/log.ts (both import-free), so the `goma cc` path can use it.
 *
 * Spec: Goma client `goma_flags.cc` (GOMA_<NAME> for each flag; booleans accept true/false, t/f, yes/no,
 * y/n, on/off, 1/0); reference/goma-protocol.md §4.3.
 */
import { Code, GomaError } from "../util/status.ts";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../util/log.ts";

const TRUE = /^(1|t|true|y|yes|on)$/i;
const FALSE = /^(0|f|false|n|no|off)$/i;

/** An environment: `process.env` or a test's object. Unset and empty values both mean "not set". */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Every default of goma's configuration, in one place. Units are in the names (`Mib`: mebibytes).
 * The variable tables below and the config builders (lib/config/proxy-config.ts, server-config.ts,
 * paths.ts) read them from here; nothing else writes a default down.
 */
export const DEFAULTS = {
  /** GOMA_SERVER_HOST. */
  serverHost: "127.0.0.1",
  /** GOMA_SERVER_PORT without GOMA_USE_SSL (goma server's `--port` default). */
  serverPort: 5050,
  /** GOMA_SERVER_PORT with GOMA_USE_SSL. */
  serverSslPort: 443,
  /** GOMA_URL_PATH_PREFIX: where Goma's API lives on the server. */
  urlPathPrefix: "/cxx-compiler-service",
  /** GOMA_HTTP_RPC_COMPRESSION_LEVEL: gzip level of request bodies, 0 (none) to 9. */
  compressionLevel: 3,
  /** GOMA_COMPILER_PROXY_SOCKET_NAME: the socket's name in GOMA_TMP_DIR. */
  socketName: "goma.ipc",
  /** GOMA_CACHE_DIR is `$GOMA_TMP_DIR/<this>` when unset. */
  cacheDirName: "goma_cache",
  /** GOMA_COMPILER_PROXY_PORT: the dashboard's first port. */
  dashboardPort: 8088,
  /** How many ports from GOMA_COMPILER_PROXY_PORT up the proxy tries for its dashboard. */
  dashboardPortsTried: 10,
  /** GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB. */
  localOutputCacheMaxMib: 30720,
  /** GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_CACHE_AMOUNT_IN_MB. */
  localOutputCacheThresholdMib: 20480,
  /** GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS. */
  localOutputCacheMaxItems: 100_000,
  /** GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS. */
  localOutputCacheThresholdItems: 80_000,
  /** GOMA_SERVER_CACHE_MAX_SIZE_MB / `--cache-max-size-mb`: the embedded backend's cache limit (10 GiB). */
  serverCacheMaxSizeMib: 10240,
  /** GOMA_SERVER_INPROC: goma server calls its embedded backend in its own process (false: loopback gRPC). */
  serverInProcess: true,
  /** `goma server --listen`. */
  serverListen: "127.0.0.1",
  /** `goma server --max-request-bytes`: the largest request body (413 beyond). */
  serverMaxRequestBytes: 64 * 1024 * 1024,
  /** GOMA_LOG_LEVEL. */
  logLevel: "info" as LogLevel,
} as const;

/**
 * A boolean variable's value in Goma's spellings; undefined when unset, empty or not a boolean.
 * @example gomaBool("on") // true
 * @example gomaBool("0") // false
 * @example gomaBool("maybe") // undefined
 */
export function gomaBool(v: string | undefined): boolean | undefined {
  if (v === undefined || v === "") return undefined;
  if (TRUE.test(v)) return true;
  if (FALSE.test(v)) return false;
  return undefined;
}

/** True when `v` is one of Goma's spellings of a boolean (for checks that refuse anything else). */
export function isGomaBool(v: string): boolean {
  return TRUE.test(v) || FALSE.test(v);
}

/** A variable's value, or undefined when it is unset or empty. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * A boolean variable read strictly: `dflt` when unset or empty, else one of Goma's spellings.
 * @throws {GomaError} InvalidArgument `GOMA_USE_SSL must be true or false, got "maybe"`.
 * @example envBool({ GOMA_USE_SSL: "on" }, "GOMA_USE_SSL", false) // true
 */
export function envBool(env: Env, name: string, dflt: boolean): boolean {
  const v = envString(env, name);
  if (v === undefined) return dflt;
  const b = gomaBool(v);
  if (b === undefined) throw new GomaError(Code.InvalidArgument, `${name} must be true or false, got "${v}"`);
  return b;
}

/**
 * GOMA_LOG_LEVEL read strictly: {@link DEFAULTS}.logLevel when unset or empty, else error, warn, info
 * or debug (any case).
 * @throws {GomaError} InvalidArgument `GOMA_LOG_LEVEL must be error, warn, info or debug, got "verbose"`.
 */
export function envLogLevel(env: Env): LogLevel {
  const v = envString(env, "GOMA_LOG_LEVEL");
  if (v === undefined) return DEFAULTS.logLevel;
  const l = v.toLowerCase();
  if (!isLogLevel(l)) throw new GomaError(Code.InvalidArgument, `GOMA_LOG_LEVEL must be ${LOG_LEVELS.slice(0, -1).join(", ")} or ${LOG_LEVELS.at(-1)}, got "${v}"`);
  return l;
}

/**
 * A TCP port variable: `dflt` when unset or empty, else a whole number from `min` (1, or 0 where 0
 * means "any free port") to 65535.
 * @throws {GomaError} InvalidArgument `GOMA_SERVER_PORT must be a port number, got "x"`.
 */
export function envPort(env: Env, name: string, dflt: number, min = 1): number {
  const v = envString(env, name);
  if (v === undefined) return dflt;
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > 65535) throw new GomaError(Code.InvalidArgument, `${name} must be a port number, got "${v}"`);
  return n;
}

/**
 * A non-negative number variable (Goma's sizes and counts): `dflt` when unset or empty.
 * @throws {GomaError} InvalidArgument `GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS=lots is not a non-negative number`.
 */
export function envNonNegative(env: Env, name: string, dflt: number): number {
  const v = envString(env, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new GomaError(Code.InvalidArgument, `${name}=${v} is not a non-negative number`);
  return n;
}

/** One variable: its name, its default as a user would write it, and what it does. */
export interface GomaVar {
  name: string;
  default: string;
  what: string;
}

const D = DEFAULTS;

/** What `goma proxy` (and the `goma cc` that talks to it) reads, with Goma's names and meanings. */
export const PROXY_VARS: readonly GomaVar[] = [
  { name: "GOMA_SERVER_HOST", default: D.serverHost, what: "goma server's host" },
  { name: "GOMA_SERVER_PORT", default: `${D.serverPort} (${D.serverSslPort} with GOMA_USE_SSL)`, what: "goma server's port" },
  { name: "GOMA_USE_SSL", default: "false", what: "HTTPS to the server" },
  { name: "GOMA_URL_PATH_PREFIX", default: D.urlPathPrefix, what: "path prefix of the Goma API" },
  { name: "GOMA_RPC_EXTRA_PARAMS", default: "", what: "appended to every request's URL" },
  { name: "GOMA_HTTP_AUTHORIZATION_FILE", default: "(goma auth login's token, else the loopback server's local token)", what: "file whose content is the Authorization header (~ and $VARS expanded)" },
  { name: "GOMA_HTTP_RPC_COMPRESSION_LEVEL", default: String(D.compressionLevel), what: "gzip level of request bodies (0: none)" },
  { name: "GOMA_TMP_DIR", default: "/run/user/<uid>/goma_<user>, else /tmp/goma_<user>", what: "the proxy's socket and log directory" },
  { name: "GOMA_PROJECT_SUFFIX", default: "", what: "appended to the default GOMA_TMP_DIR as _<suffix> (one proxy per project)" },
  { name: "GOMA_COMPILER_PROXY_SOCKET_NAME", default: D.socketName, what: "the socket's name in GOMA_TMP_DIR" },
  { name: "GOMA_CACHE_DIR", default: `$GOMA_TMP_DIR/${D.cacheDirName}`, what: "CompilerInfo and include-probe caches" },
  { name: "GOMA_COMPILER_PROXY_PORT", default: String(D.dashboardPort), what: "dashboard port (the next free one above it when taken)" },
  { name: "GOMA_USE_INCLUDE_PROCESSOR", default: "true", what: "false: list inputs with the compiler's -M" },
  { name: "GOMA_FALLBACK", default: "true", what: "false: a compile that could not run remotely fails instead of running locally" },
  { name: "GOMA_USE_LOCAL", default: "true", what: "accepted; goma never races a local compile against the remote one" },
  { name: "GOMA_STORE_ONLY", default: "false", what: "do not look results up in the server's cache, only store them" },
  { name: "GOMA_USE_SUCCESS", default: "false", what: "cache only successful compiles" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_DIR", default: "(off)", what: "directory of the proxy's own cache of successful compiles' outputs: identical compiles are answered without the server" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB", default: String(D.localOutputCacheMaxMib), what: "above this size (MiB) the local output cache evicts the least recently used entries…" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_CACHE_AMOUNT_IN_MB", default: String(D.localOutputCacheThresholdMib), what: "…down to this size (MiB)" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS", default: String(D.localOutputCacheMaxItems), what: "above this many entries the local output cache evicts…" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS", default: String(D.localOutputCacheThresholdItems), what: "…down to this many" },
  { name: "GOMA_DISABLED", default: "false", what: "goma cc runs every compile locally" },
  { name: "GOMA_LOG_LEVEL", default: D.logLevel, what: "error, warn, info or debug" },
];

/** What `goma server` reads besides its flags (a flag, when given, wins). */
export const SERVER_VARS: readonly GomaVar[] = [
  { name: "GOMA_SERVER_CACHE_MAX_SIZE_MB", default: String(D.serverCacheMaxSizeMib), what: "embedded backend: size limit of its CAS and action cache together, MiB (0: no limit; --cache-max-size-mb wins)" },
  { name: "GOMA_SERVER_INPROC", default: String(D.serverInProcess), what: "embedded backend: the server calls it in its own process; false: over loopback gRPC, as other clients (for comparison)" },
  { name: "XDG_CACHE_HOME", default: "~/.cache", what: "the embedded backend's cache is $XDG_CACHE_HOME/goma unless --cache-dir is given" },
  { name: "GOMA_LOG_LEVEL", default: D.logLevel, what: "error, warn, info or debug" },
];

/** A variable table ({@link PROXY_VARS} by default) as an aligned text table for `--help`. */
export function varsHelp(vars: readonly GomaVar[] = PROXY_VARS): string {
  const w = Math.max(...vars.map((v) => v.name.length));
  return vars.map((v) => `  ${v.name.padEnd(w)}  ${v.what}${v.default ? ` (default: ${v.default})` : ""}`).join("\n");
}
