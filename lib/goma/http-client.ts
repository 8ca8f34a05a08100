/**
 * The compiler_proxy → server side of Goma's HTTP protocol (reference/goma-protocol.md §1):
 * `POST {scheme}://{GOMA_SERVER_HOST}:{GOMA_SERVER_PORT}{GOMA_URL_PATH_PREFIX}/{ping,e,s,l}{GOMA_RPC_EXTRA_PARAMS}`
 * with `Content-Type: binary/x-protocol-buffer`, gzip request bodies (level
 * GOMA_HTTP_RPC_COMPRESSION_LEVEL, default 3) and the encoding renegotiated from each 200's
 * `Accept-Encoding`, as the real client does.
 */
import { readFileSync } from "node:fs";
import { goma, type IExecReq, type IExecResp, type IFileBlob } from "./proto.ts";
import { encodeBody, type Encoding } from "./compression.ts";
import { codeFromHttpStatus } from "./http-status.ts";
import { Code, GomaError } from "../util/status.ts";
import { ClientAuthorizationProvider } from "../auth/client-auth.ts";
import { gomaUserAgent } from "../util/build-info.ts";
import { gomaBool } from "../config/goma-env.ts";

/** Where and how to reach the server (the GOMA_* variables of the real client). */
export interface GomaServerConfig {
  host: string;
  port: number;
  useSsl: boolean;
  pathPrefix: string;
  extraParams: string;
  /** Value of the Authorization header, if any. */
  authorization?: string;
  /**
   * When set, asked before every request instead of `authorization` (lib/auth/client-auth.ts): a header
   * to send, or an error that fails the request without contacting the server (the compile runs locally
   * with that reason).
   */
  authorizationProvider?: () => { header?: string; error?: string; source?: string; path?: string };
  compressionLevel: number;
}


/**
 * Reads the server config from `GOMA_SERVER_HOST` (default 127.0.0.1), `GOMA_USE_SSL` (default false),
 * `GOMA_SERVER_PORT` (default 443 with SSL, else 5050), `GOMA_URL_PATH_PREFIX`, `GOMA_RPC_EXTRA_PARAMS`,
 * `GOMA_HTTP_AUTHORIZATION_FILE` (its whole content, trailing whitespace stripped, is the Authorization
 * value; `~` and `$VARS` in the path are expanded) and `GOMA_HTTP_RPC_COMPRESSION_LEVEL`.
 * @throws {GomaError} InvalidArgument for a malformed boolean or port; FailedPrecondition when the
 * authorization file cannot be read.
 */
export function serverConfigFromEnv(env: Record<string, string | undefined>): GomaServerConfig {
  const bool = (name: string, dflt: boolean) => {
    const v = env[name];
    if (v === undefined || v === "") return dflt;
    const b = gomaBool(v);
    if (b !== undefined) return b;
    throw new GomaError(Code.InvalidArgument, `${name} must be true or false, got "${v}"`);
  };
  const useSsl = bool("GOMA_USE_SSL", false);
  const port = Number(env.GOMA_SERVER_PORT || (useSsl ? 443 : 5050));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new GomaError(Code.InvalidArgument, `GOMA_SERVER_PORT must be a port number, got "${env.GOMA_SERVER_PORT}"`);
  }
  let authorization: string | undefined;
  const authFile = env.GOMA_HTTP_AUTHORIZATION_FILE;
  if (authFile) {
    const p = expandPath(authFile, env);
    try {
      authorization = readFileSync(p, "utf8").replace(/\s+$/, "");
    } catch (e) {
      throw new GomaError(Code.FailedPrecondition, `GOMA_HTTP_AUTHORIZATION_FILE "${authFile}" cannot be read: ${(e as Error).message}`);
    }
    if (/[\r\n]/.test(authorization)) throw new GomaError(Code.FailedPrecondition, `GOMA_HTTP_AUTHORIZATION_FILE "${authFile}" must hold one line`);
  }
  return {
    host: env.GOMA_SERVER_HOST || "127.0.0.1",
    port,
    useSsl,
    pathPrefix: env.GOMA_URL_PATH_PREFIX || "/cxx-compiler-service",
    extraParams: env.GOMA_RPC_EXTRA_PARAMS || "",
    authorization,
    compressionLevel: Number(env.GOMA_HTTP_RPC_COMPRESSION_LEVEL ?? 3),
  };
}

/**
 * The proxy's server config: {@link serverConfigFromEnv} without its auth-file handling, plus the
 * Authorization lookup of lib/auth/client-auth.ts (GOMA_HTTP_AUTHORIZATION_FILE, then the token stored by
 * `goma auth login`), re-resolved when those files change. An unreadable auth file does not throw: each
 * request then fails with that error (so compiles run locally with it as the reason).
 * @throws {GomaError} InvalidArgument for a malformed boolean or port.
 */
export function serverConfigForProxy(env: Record<string, string | undefined>): GomaServerConfig {
  const base = serverConfigFromEnv({ ...env, GOMA_HTTP_AUTHORIZATION_FILE: undefined });
  const provider = new ClientAuthorizationProvider(env);
  return { ...base, authorizationProvider: () => provider.get() };
}

/** Expands a leading `~`/`~/` and `$VAR`/`${VAR}` in a path. */
export function expandPath(p: string, env: Record<string, string | undefined>): string {
  let out = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => env[a ?? b] ?? "");
  if (out === "~" || out.startsWith("~/")) out = (env.HOME ?? "") + out.slice(1);
  return out;
}

/** A Goma HTTP client. One per proxy; safe for concurrent calls. */
/** Goma's compiler_proxy User-Agent (the server parses it for statistics), computed once. */
const USER_AGENT = gomaUserAgent();

export class GomaHttpClient {
  private encoding: Encoding = "gzip";
  /** Number of RPCs sent and failed, for the dashboard. */
  readonly stats = { requests: 0, errors: 0, bytesSent: 0, bytesReceived: 0 };
  /** Failed RPCs by endpoint ("/e", "/ping" …) and gRPC code name (Code[…]: "Unavailable" …), for /metrics. */
  readonly errorsByCode = new Map<string, { endpoint: string; code: string; count: number }>();

  private countError(endpoint: string, code: Code): void {
    const k = `${endpoint} ${code}`;
    const e = this.errorsByCode.get(k) ?? { endpoint, code: Code[code] ?? String(code), count: 0 };
    e.count++;
    this.errorsByCode.set(k, e);
  }

  constructor(readonly config: GomaServerConfig) {}

  /** `http(s)://host:port` + prefix, for display. */
  get baseUrl(): string {
    const c = this.config;
    return `${c.useSsl ? "https" : "http"}://${c.host}:${c.port}${c.pathPrefix}`;
  }

  /**
   * POSTs a serialized request to `endpoint` ("/e", "/s", …) and returns the decoded response body.
   * @throws {GomaError} Unavailable when the server cannot be reached; the code of the HTTP status otherwise.
   */
  async call(endpoint: string, body: Uint8Array, timeoutMs = 610_000): Promise<Uint8Array> {
    this.stats.requests++;
    const enc = this.config.compressionLevel > 0 ? this.encoding : "identity";
    const payload = enc === "identity" ? body : encodeBody(body, enc, this.config.compressionLevel);
    const headers: Record<string, string> = { "user-agent": USER_AGENT, "content-type": "binary/x-protocol-buffer" };
    if (this.config.compressionLevel > 0) headers["accept-encoding"] = "gzip";
    if (enc !== "identity") headers["content-encoding"] = enc;
    const auth = this.config.authorizationProvider?.() ?? { header: this.config.authorization };
    if (auth.error) {
      this.stats.errors++;
      this.countError(endpoint, Code.FailedPrecondition);
      throw new GomaError(Code.FailedPrecondition, auth.error);
    }
    if (auth.header) headers.authorization = auth.header;
    this.stats.bytesSent += payload.byteLength;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + endpoint + this.config.extraParams, {
        method: "POST",
        headers,
        body: payload as unknown as BodyInit,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      this.stats.errors++;
      const msg = (e as Error).message;
      const code = /timed? ?out|abort/i.test(msg) ? Code.DeadlineExceeded : Code.Unavailable;
      this.countError(endpoint, code);
      throw new GomaError(code, `cannot reach goma server at ${this.baseUrl}: ${msg}`, { cause: e });
    }
    const raw = new Uint8Array(await res.arrayBuffer());
    this.stats.bytesReceived += raw.byteLength;
    if (res.status !== 200) {
      this.stats.errors++;
      if (res.status === 400 || res.status === 415) this.encoding = "identity";
      this.countError(endpoint, codeFromHttpStatus(res.status));
      const text = new TextDecoder().decode(raw.subarray(0, 2000)).trim();
      throw new GomaError(codeFromHttpStatus(res.status), `goma server answered HTTP ${res.status} on ${endpoint}: ${text}`);
    }
    const accept = (res.headers.get("accept-encoding") ?? "").toLowerCase();
    this.encoding = /\bgzip\b/.test(accept) ? "gzip" : /\bdeflate\b/.test(accept) ? "deflate" : "identity";
    // fetch (Bun, Deno and Node alike) has already undone a gzip Content-Encoding: the body is plain.
    return raw;
  }

  /** `/ping`: resolves when the server answers 200. */
  async ping(timeoutMs = 10_000): Promise<void> {
    await this.call("/ping", new Uint8Array(), timeoutMs);
  }

  /** `/e`: ExecReq → ExecResp. */
  async exec(req: IExecReq): Promise<goma.ExecResp> {
    const body = await this.call("/e", goma.ExecReq.encode(req).finish());
    try {
      return goma.ExecResp.decode(body);
    } catch (e) {
      throw new GomaError(Code.Internal, `malformed ExecResp from the server: ${(e as Error).message}`);
    }
  }

  /** `/s`: stores blobs; returns their hash keys in order ("" for a blob the server refused). */
  async storeFile(blobs: IFileBlob[]): Promise<string[]> {
    const body = await this.call("/s", goma.StoreFileReq.encode({ blob: blobs }).finish());
    return goma.StoreFileResp.decode(body).hashKey ?? [];
  }

  /** `/l`: fetches blobs by hash key, in order (blob_type FILE_UNSPECIFIED for unknown keys). */
  async lookupFile(hashKeys: string[]): Promise<goma.IFileBlob[]> {
    const body = await this.call("/l", goma.LookupFileReq.encode({ hashKey: hashKeys }).finish());
    return goma.LookupFileResp.decode(body).blob ?? [];
  }
}
