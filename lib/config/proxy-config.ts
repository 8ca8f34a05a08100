/**
 * The proxy's configuration, `ProxyConfig`, built once from the GOMA_* variables of the environment
 * `goma proxy run` starts with (Goma's compiler_proxy flags, reference/goma-protocol.md §4.3), and the
 * per-compile settings a request's own environment may override. The proxy's code takes the config;
 * nothing under lib/proxy reads `process.env` for a setting.
 *
 * Every default comes from lib/config/goma-env.ts `DEFAULTS`; a malformed value fails the build of the
 * config with one line naming the variable (GomaError InvalidArgument), as Goma's client aborts on it.
 */
import { join } from "node:path";
import { DEFAULTS, envBool, envLogLevel, envNonNegative, envPort, envString, gomaBool, type Env } from "./goma-env.ts";
import type { LogLevel } from "../util/log.ts";
import { gomaCacheDir, gomaTmpDir, proxySocketPath, unreachedSpoolPath, userName } from "./paths.ts";
import { serverAddressFromEnv, type GomaServerAddress } from "./server-address.ts";
import { Code, GomaError } from "../util/status.ts";

const MIB = 1024 * 1024;

/** Size limits of the local output cache (bytes and entries); GC starts above `max*` and stops at or below `threshold*`. */
export interface LocalOutputCacheLimits {
  maxBytes: number;
  thresholdBytes: number;
  maxItems: number;
  thresholdItems: number;
}

/** Goma's LocalOutputCache settings (lib/proxy/local-output-cache.ts): where, and how large. */
export interface LocalOutputCacheConfig {
  /** GOMA_LOCAL_OUTPUT_CACHE_DIR. */
  dir: string;
  limits: LocalOutputCacheLimits;
}

/** Everything `goma proxy run` is configured with. Paths are absolute unless the user gave relative ones. */
export interface ProxyConfig {
  /** Where goma server is (GOMA_SERVER_HOST, GOMA_SERVER_PORT, GOMA_USE_SSL …). */
  server: GomaServerAddress;
  /** GOMA_TMP_DIR: the socket's and the log's directory (created 0700 by the proxy). */
  tmpDir: string;
  /** The unix socket `goma cc` connects to ($GOMA_TMP_DIR/$GOMA_COMPILER_PROXY_SOCKET_NAME). */
  socketPath: string;
  /** `goma cc`'s spool of compiles it ran while no proxy answered (lib/config/paths.ts). */
  unreachedSpoolPath: string;
  /** GOMA_CACHE_DIR: CompilerInfo cache (default `$GOMA_TMP_DIR/goma_cache`). */
  cacheDir: string;
  /** The include processor's per-compiler probe cache, `$GOMA_CACHE_DIR/include_probe`: survives restarts. */
  includeProbeCacheDir: string;
  /**
   * GOMA_COMPILER_PROXY_PORT: the dashboard's first port (default 8088; the next free of
   * `DEFAULTS.dashboardPortsTried` ports when taken); 0: any free port.
   */
  dashboardPort: number;
  /** GOMA_USE_INCLUDE_PROCESSOR: false lists inputs with the compiler's -M (default true). */
  includeProcessor: boolean;
  /**
   * GOMA_FALLBACK of the proxy's environment (default true): false makes a compile that could not run
   * remotely fail. A compile's own GOMA_FALLBACK wins ({@link compileSettings}).
   */
  fallback: boolean;
  /** GOMA_LOCAL_OUTPUT_CACHE_*; undefined when GOMA_LOCAL_OUTPUT_CACHE_DIR is unset or empty (off, as in Goma). */
  localOutputCache?: LocalOutputCacheConfig;
  /** The user name in paths and in the compiler_proxy id ($USER, $LOGNAME, else uid<N>). */
  userName: string;
  /** GOMA_LOG_LEVEL (default info): startProxy sets lib/util/log.ts's level to it. */
  logLevel: LogLevel;
}

/**
 * The local output cache's limits from Goma's variables (MiB and item counts):
 * `GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB` (30720), `…_THRESHOLD_CACHE_AMOUNT_IN_MB` (20480),
 * `…_MAX_ITEMS` (100000), `…_THRESHOLD_ITEMS` (80000).
 * @throws {GomaError} InvalidArgument for a value that is not a non-negative number, or a threshold
 * above its maximum.
 */
export function localOutputCacheLimitsFromEnv(env: Env): LocalOutputCacheLimits {
  const num = (name: string, dflt: number) => envNonNegative(env, `GOMA_LOCAL_OUTPUT_CACHE_${name}`, dflt);
  const l = {
    maxBytes: num("MAX_CACHE_AMOUNT_IN_MB", DEFAULTS.localOutputCacheMaxMib) * MIB,
    thresholdBytes: num("THRESHOLD_CACHE_AMOUNT_IN_MB", DEFAULTS.localOutputCacheThresholdMib) * MIB,
    maxItems: num("MAX_ITEMS", DEFAULTS.localOutputCacheMaxItems),
    thresholdItems: num("THRESHOLD_ITEMS", DEFAULTS.localOutputCacheThresholdItems),
  };
  if (l.thresholdBytes > l.maxBytes) {
    throw new GomaError(Code.InvalidArgument, "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_CACHE_AMOUNT_IN_MB is above GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB");
  }
  if (l.thresholdItems > l.maxItems) throw new GomaError(Code.InvalidArgument, "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS is above GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS");
  return l;
}

/** The local output cache's settings, or undefined when GOMA_LOCAL_OUTPUT_CACHE_DIR is unset or empty. */
export function localOutputCacheConfigFromEnv(env: Env): LocalOutputCacheConfig | undefined {
  const dir = envString(env, "GOMA_LOCAL_OUTPUT_CACHE_DIR");
  return dir === undefined ? undefined : { dir, limits: localOutputCacheLimitsFromEnv(env) };
}

/**
 * Builds the proxy's config from its environment.
 * @throws {GomaError} InvalidArgument for a malformed GOMA_* value (boolean not in Goma's spellings,
 * port, compression level, cache size), one line naming the variable and the value.
 * @example proxyConfigFromEnv({ GOMA_TMP_DIR: "/t" }).cacheDir // "/t/goma_cache"
 */
export function proxyConfigFromEnv(env: Env): ProxyConfig {
  const cacheDir = gomaCacheDir(env);
  const dashboardPort = envPort(env, "GOMA_COMPILER_PROXY_PORT", DEFAULTS.dashboardPort, 0);
  return {
    server: serverAddressFromEnv(env),
    tmpDir: gomaTmpDir(env),
    socketPath: proxySocketPath(env),
    unreachedSpoolPath: unreachedSpoolPath(env),
    cacheDir,
    includeProbeCacheDir: join(cacheDir, "include_probe"),
    dashboardPort,
    includeProcessor: envBool(env, "GOMA_USE_INCLUDE_PROCESSOR", true),
    fallback: envBool(env, "GOMA_FALLBACK", true),
    localOutputCache: localOutputCacheConfigFromEnv(env),
    userName: userName(env),
    logLevel: envLogLevel(env),
  };
}

/**
 * The settings one compile's own environment (the `env` of `goma cc`'s request) decides, Goma's
 * requester_env: lenient, as a build must never fail on them (a value not in Goma's spellings counts as
 * unset).
 */
export interface CompileSettings {
  /** GOMA_FALLBACK of the compile, else the proxy's ({@link ProxyConfig.fallback}). */
  fallback: boolean;
  /** GOMA_STORE_ONLY: store the result without looking it up (ExecReq.cache_policy STORE_ONLY). */
  storeOnly: boolean;
  /** GOMA_USE_SUCCESS: cache only successful compiles (LOOKUP_AND_STORE_SUCCESS). */
  useSuccess: boolean;
}

/**
 * A compile's settings from its environment, with the proxy's GOMA_FALLBACK as the default.
 * @example compileSettings({ GOMA_STORE_ONLY: "on" }, true) // { fallback: true, storeOnly: true, useSuccess: false }
 */
export function compileSettings(requestEnv: Env, proxyFallback = true): CompileSettings {
  return {
    fallback: gomaBool(requestEnv.GOMA_FALLBACK) ?? proxyFallback,
    storeOnly: gomaBool(requestEnv.GOMA_STORE_ONLY) === true,
    useSuccess: gomaBool(requestEnv.GOMA_USE_SUCCESS) === true,
  };
}
