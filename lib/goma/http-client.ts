/**
 * The compiler_proxy → server side of Goma's HTTP protocol (reference/goma-protocol.md §1):
 * `POST {scheme}://{GOMA_SERVER_HOST}:{GOMA_SERVER_PORT}{GOMA_URL_PATH_PREFIX}/{ping,e,s,l}{GOMA_RPC_EXTRA_PARAMS}`
 * with `Content-Type: binary/x-protocol-buffer`, gzip request bodies (level
 * GOMA_HTTP_RPC_COMPRESSION_LEVEL, default 3) and the encoding renegotiated from each 200's
 * `Accept-Encoding`, as the real client does.
 */
import { goma, type IExecReq, type IExecResp, type IFileBlob } from "./proto.ts";
import { encodeBody, type Encoding } from "./compression.ts";
import { codeFromHttpStatus } from "./http-status.ts";
import { Code, GomaError } from "../util/status.ts";
import { gomaUserAgent } from "../util/build-info.ts";
import { serverBaseUrl, type GomaServerAddress } from "../config/server-address.ts";

/**
 * What the proxy sends as `Authorization` before each request: a header, or an error that fails the
 * request without contacting the server (the compile then runs locally with that reason). `source` and
 * `path` say where it came from, for `goma proxy status` (never the header itself).
 * lib/auth/client-auth.ts `ClientAuthorizationProvider.get` is the proxy's; lib/goma never reads an
 * auth file itself (no lib/goma → lib/auth import).
 */
export type AuthorizationProvider = () => { header?: string; error?: string; source?: string; path?: string };

/**
 * Where and how to reach the server: the address from the GOMA_* variables (lib/config/server-address.ts)
 * plus the credentials.
 */
export interface GomaServerConfig extends GomaServerAddress {
  /** A fixed value of the Authorization header, if any (used when there is no provider). */
  authorization?: string;
  /** When set, asked before every request instead of `authorization`. */
  authorizationProvider?: AuthorizationProvider;
}

/** Goma's compiler_proxy User-Agent (the server parses it for statistics), computed once. */
const USER_AGENT = gomaUserAgent();

/** A Goma HTTP client. One per proxy; safe for concurrent calls. */
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
    return serverBaseUrl(this.config);
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
