/**
 * Where and how the proxy reaches `goma server`: the GOMA_* variables of Goma's own client
 * (reference/goma-protocol.md §1, §4.3). The Authorization header is not part of it: the proxy's auth
 * provider (lib/auth/client-auth.ts) is built separately and handed to the HTTP client
 * (lib/goma/http-client.ts), so lib/goma never reads an auth file.
 */
import { DEFAULTS, envBool, envPort, envString, type Env } from "./goma-env.ts";
import { Code, GomaError } from "../util/status.ts";

/** The server's address and the request options of the Goma HTTP protocol. */
export interface GomaServerAddress {
  /** GOMA_SERVER_HOST (default 127.0.0.1). */
  host: string;
  /** GOMA_SERVER_PORT (default 443 with SSL, else 5050). */
  port: number;
  /** GOMA_USE_SSL (default false). */
  useSsl: boolean;
  /** GOMA_URL_PATH_PREFIX (default `/cxx-compiler-service`). */
  pathPrefix: string;
  /** GOMA_RPC_EXTRA_PARAMS, appended to every request's URL (default ""). */
  extraParams: string;
  /** GOMA_HTTP_RPC_COMPRESSION_LEVEL: gzip level of request bodies, 0 (none) to 9 (default 3). */
  compressionLevel: number;
}

/**
 * Reads the server address from `GOMA_SERVER_HOST`, `GOMA_USE_SSL`, `GOMA_SERVER_PORT`,
 * `GOMA_URL_PATH_PREFIX`, `GOMA_RPC_EXTRA_PARAMS` and `GOMA_HTTP_RPC_COMPRESSION_LEVEL`, with the
 * defaults of {@link DEFAULTS}.
 * @throws {GomaError} InvalidArgument for a malformed boolean, port or compression level.
 * @example serverAddressFromEnv({ GOMA_USE_SSL: "on" }).port // 443
 */
export function serverAddressFromEnv(env: Env): GomaServerAddress {
  const useSsl = envBool(env, "GOMA_USE_SSL", false);
  const port = envPort(env, "GOMA_SERVER_PORT", useSsl ? DEFAULTS.serverSslPort : DEFAULTS.serverPort);
  const level = envString(env, "GOMA_HTTP_RPC_COMPRESSION_LEVEL");
  const compressionLevel = level === undefined ? DEFAULTS.compressionLevel : Number(level);
  if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
    throw new GomaError(Code.InvalidArgument, `GOMA_HTTP_RPC_COMPRESSION_LEVEL must be a whole number from 0 to 9, got "${level}"`);
  }
  return {
    host: envString(env, "GOMA_SERVER_HOST") ?? DEFAULTS.serverHost,
    port,
    useSsl,
    pathPrefix: envString(env, "GOMA_URL_PATH_PREFIX") ?? DEFAULTS.urlPathPrefix,
    extraParams: envString(env, "GOMA_RPC_EXTRA_PARAMS") ?? "",
    compressionLevel,
  };
}

/**
 * `http(s)://host:port` + the path prefix: the base of every Goma endpoint (`/ping`, `/e` …) and of
 * goma's own (`/auth/info`).
 * @example serverBaseUrl({ host: "h", port: 81, useSsl: false, pathPrefix: "/cxx-compiler-service", extraParams: "", compressionLevel: 3 }) // "http://h:81/cxx-compiler-service"
 */
export function serverBaseUrl(a: Pick<GomaServerAddress, "host" | "port" | "useSsl" | "pathPrefix">): string {
  return `${a.useSsl ? "https" : "http"}://${a.host}:${a.port}${a.pathPrefix}`;
}
