/**
 * OAuth2 access tokens from a service-account JSON key, the JWT-bearer flow Google's RBE expects from
 * remoteexec_proxy's `--service-account-json` (RFC 7523; reference/goma-protocol.md §1.5): sign an RS256
 * JWT `{iss: client_email, scope, aud: token_uri, iat, exp: iat+3600}` with the key's `private_key`,
 * POST it to `token_uri` as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`, and
 * use the `access_token` until shortly before its `expires_in` runs out.
 *
 * gRPC metadata is built synchronously per call (lib/reapi/rpc-caller.ts), so {@link
 * ServiceAccountTokenSource.token} returns the cached token at once and starts a refresh in the background
 * when the token is within {@link REFRESH_BEFORE_MS} of expiry; {@link ServiceAccountTokenSource.ready}
 * waits for the first one. The JSON file is re-read when it changes (a new key replaces the token).
 * Tokens and keys are never logged.
 */
import { createSign } from "node:crypto";
import { WatchedFile } from "./watched-file.ts";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";

/** Default scope: the one remoteexec_proxy asks for. */
export const DEFAULT_SERVICE_ACCOUNT_SCOPE = "https://www.googleapis.com/auth/cloud-build-service";
/** A token is refreshed when it has less than this left: 5 minutes. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** Lifetime of the signed assertion: 1 hour (the maximum Google accepts). */
const ASSERTION_TTL_SEC = 3600;

/** The fields of a service-account JSON key that the flow uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/**
 * Parses a service-account JSON key.
 * @throws {SyntaxError} when it is not JSON or lacks client_email, private_key or token_uri.
 */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Service-account key is not JSON: ${(e as Error).message}`);
  }
  for (const k of ["client_email", "private_key", "token_uri"]) {
    if (typeof j[k] !== "string" || !j[k]) throw new SyntaxError(`Service-account key lacks "${k}" (is it a service-account key file, type "service_account"?)`);
  }
  return j as unknown as ServiceAccountKey;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/**
 * The signed JWT assertion for `key` at `nowSec`.
 * @throws {Error} when the private key cannot sign (not a PEM RSA key).
 */
export function signAssertion(key: ServiceAccountKey, scope: string, nowSec: number): string {
  const header = { alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, scope, aud: key.token_uri, iat: nowSec, exp: nowSec + ASSERTION_TTL_SEC };
  const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign("RSA-SHA256").update(signed).sign(key.private_key);
  return `${signed}.${b64url(sig)}`;
}

/** Options of {@link ServiceAccountTokenSource}. */
export interface ServiceAccountOptions {
  /** Path of the JSON key (`--service-account-json`). */
  jsonPath: string;
  scope?: string;
  /** Clock in ms (tests). */
  nowMs?: () => number;
  /** Timeout of one token request, ms; default 30 s. */
  timeoutMs?: number;
}

/** Access tokens for one service account, refreshed before expiry. */
export class ServiceAccountTokenSource {
  readonly #file: WatchedFile<ServiceAccountKey>;
  readonly #scope: string;
  readonly #now: () => number;
  #token?: { value: string; expiresAtMs: number; keyLoad: number };
  #inflight?: Promise<string>;
  /** The last refresh failure, for doctor and the status page (no secrets in it). */
  lastError?: string;

  /** @throws {GomaError} FailedPrecondition when the JSON cannot be read or lacks fields. */
  constructor(private readonly opts: ServiceAccountOptions) {
    this.#file = new WatchedFile(opts.jsonPath, "the service-account key (--service-account-json)", (b) => parseServiceAccountKey(b.toString("utf8")));
    this.#scope = opts.scope ?? DEFAULT_SERVICE_ACCOUNT_SCOPE;
    this.#now = opts.nowMs ?? Date.now;
  }

  /** Who the tokens are for, and where they come from (for the status page). */
  describe(): string {
    const k = this.#file.get();
    return `service account ${k.client_email} via ${k.token_uri}`;
  }

  /** The current token (undefined before the first one arrives); refreshes in the background when due. */
  token(): string | undefined {
    this.#file.get(); // re-reads the key when it changed (bumps loads)
    const t = this.#token;
    const stale = !t || t.keyLoad !== this.#file.loads || t.expiresAtMs - this.#now() < REFRESH_BEFORE_MS;
    if (stale) void this.refresh().catch(() => {});
    if (t && t.keyLoad === this.#file.loads && t.expiresAtMs > this.#now()) return t.value;
    return undefined;
  }

  /** Waits for a valid token (fetching one if needed). @throws {GomaError} Unauthenticated when the endpoint refuses. */
  async ready(): Promise<void> {
    const t = this.#token;
    if (t && t.keyLoad === this.#file.loads && t.expiresAtMs > this.#now()) return;
    await this.refresh();
  }

  /**
   * Fetches a new token now (one request at a time).
   * @throws {GomaError} Unauthenticated with the endpoint's error and description; Unavailable when it
   * cannot be reached.
   */
  refresh(): Promise<string> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<string> {
    const key = this.#file.get();
    const keyLoad = this.#file.loads;
    const where = `Failed to get an access token for ${key.client_email} from "${key.token_uri}"`;
    let assertion: string;
    try {
      assertion = signAssertion(key, this.#scope, Math.floor(this.#now() / 1000));
    } catch (e) {
      throw this.#fail(new GomaError(Code.FailedPrecondition, `${where}: cannot sign with its private_key: ${(e as Error).message}`));
    }
    let res: Response;
    try {
      res = await fetch(key.token_uri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw this.#fail(new GomaError(Code.Unavailable, `${where}: ${(e as Error).message}`));
    }
    const text = await res.text();
    let body: { access_token?: string; expires_in?: number; error?: string; error_description?: string } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // reported below
    }
    if (res.status !== 200 || typeof body.access_token !== "string") {
      const detail = body.error ? `${body.error}${body.error_description ? `: ${body.error_description}` : ""}` : text.slice(0, 200);
      throw this.#fail(new GomaError(Code.Unauthenticated, `${where}: HTTP ${res.status} ${detail}`));
    }
    const expiresInSec = Number(body.expires_in ?? 3600);
    this.#token = { value: body.access_token, expiresAtMs: this.#now() + expiresInSec * 1000, keyLoad };
    if (this.lastError) log.info(`access token for ${key.client_email} refreshed again`);
    this.lastError = undefined;
    return body.access_token;
  }

  #fail(e: GomaError): GomaError {
    if (this.lastError !== e.rawMessage) log.warn(e.rawMessage);
    this.lastError = e.rawMessage;
    return e;
  }
}
