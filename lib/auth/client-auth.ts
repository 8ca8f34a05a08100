/**
 * Which `Authorization` header the proxy (and `goma auth info`, `goma doctor`) sends to `goma server`,
 * looked up in this order:
 *
 * 1. `GOMA_HTTP_AUTHORIZATION_FILE`: the real client's meaning (reference/goma-protocol.md §1.5): the
 *    file's whole content, trailing whitespace stripped, is the header value (`Bearer <token>`). goma
 *    expands `~` and `$VARS` in the path. Unlike the real client (which CHECK-fails), an unreadable file
 *    is an error value, never a crash: the proxy still starts and every compile runs locally, with the
 *    error as the reason.
 * 2. the token stored by `goma auth login` (lib/auth/token-store.ts), sent as `Bearer <token>`.
 * 3. when the server is on loopback (`GOMA_SERVER_HOST` 127.0.0.0/8, `localhost`, `::1`; the default):
 *    the per-user local token such a server makes for its own user (lib/auth/local-token.ts).
 * 4. none.
 *
 * {@link ClientAuthorizationProvider} re-resolves when any of these files changes (a `goma auth login` takes
 * effect in a running proxy).
 */
import { readFileSync, statSync } from "node:fs";
import { readStoredToken, storedTokenPath, type Env } from "./token-store.ts";
import { localTokenPath, readLocalToken } from "./local-token.ts";
import { isLoopbackHost } from "./server-auth.ts";
import { foreignListener } from "./listener-owner.ts";
import { DEFAULTS, gomaBool } from "../config/goma-env.ts";

/** Names of the lookup steps, in order. */
export const AUTH_LOOKUP_ORDER = ["GOMA_HTTP_AUTHORIZATION_FILE", "stored token (goma auth login)", "local token (loopback server)"] as const;

/** The outcome of the lookup. Never contains the token outside `header`. */
export interface ClientAuthorization {
  /** Which step decided: the env variable, the stored token, or none. */
  source: "GOMA_HTTP_AUTHORIZATION_FILE" | "stored token" | "local token" | "none";
  /** The file read (expanded path). */
  path?: string;
  /** The path as written in GOMA_HTTP_AUTHORIZATION_FILE, before expansion. */
  rawPath?: string;
  /** The Authorization value to send. */
  header?: string;
  /** Why no header can be sent although one is configured (file unreadable, several lines …). */
  error?: string;
}

/**
 * Expands a leading `~`/`~/` and `$VAR`/`${VAR}` in a path (the shell's rules for the common cases;
 * `~user` is left alone).
 * @example expandUserPath("~/goma/token", { HOME: "/home/a" }) // "/home/a/goma/token"
 */
export function expandUserPath(p: string, env: Env): string {
  let out = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => env[a ?? b] ?? "");
  if (out === "~" || out.startsWith("~/")) out = (env.HOME ?? "") + out.slice(1);
  return out;
}

/** Resolves the header once (see the module comment for the order). Never throws. */
export function resolveClientAuthorization(env: Env): ClientAuthorization {
  const rawPath = env.GOMA_HTTP_AUTHORIZATION_FILE;
  if (rawPath) {
    const path = expandUserPath(rawPath, env);
    const shown = rawPath === path ? `"${rawPath}"` : `"${rawPath}" (${path})`;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      const hint = path.includes("~") ? "; a \"~\" is expanded only at the start of the path (\"~/…\"): write an absolute path" : "";
      return { source: "GOMA_HTTP_AUTHORIZATION_FILE", rawPath, path, error: `GOMA_HTTP_AUTHORIZATION_FILE ${shown} cannot be read: ${code || (e as Error).message}${hint}` };
    }
    const header = text.replace(/\s+$/, "");
    if (/[\r\n]/.test(header)) {
      return { source: "GOMA_HTTP_AUTHORIZATION_FILE", rawPath, path, error: `GOMA_HTTP_AUTHORIZATION_FILE ${shown} must hold one line (the Authorization value, e.g. "Bearer <token>")` };
    }
    if (!header) return { source: "GOMA_HTTP_AUTHORIZATION_FILE", rawPath, path, error: `GOMA_HTTP_AUTHORIZATION_FILE ${shown} is empty` };
    return { source: "GOMA_HTTP_AUTHORIZATION_FILE", rawPath, path, header };
  }
  const path = storedTokenPath(env);
  try {
    const token = readStoredToken(env);
    if (token) return { source: "stored token", path, header: `Bearer ${token}` };
  } catch (e) {
    return { source: "stored token", path, error: `the stored token "${path}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const local = localTokenFor(env);
  if (local) {
    try {
      const token = readLocalToken(local);
      // Unreadable (another user's) or malformed: send nothing; the server's 401 names the file.
      if (token) return { source: "local token", path: local, header: `Bearer ${token}` };
    } catch {
      // fall through to none
    }
  }
  return { source: "none" };
}

/** The local token's path when the server is on loopback, else undefined. */
export function localTokenFor(env: Env): string | undefined {
  return isLoopbackHost(env.GOMA_SERVER_HOST || DEFAULTS.serverHost) ? localTokenPath(env) : undefined;
}

function stampOf(path: string | undefined): string {
  if (!path) return "-";
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
}

/** The lookup, cached until one of its files changes. One per proxy. */
export class ClientAuthorizationProvider {
  #stamp = "";
  #value?: ClientAuthorization;
  readonly #envFile?: string;
  readonly #stored: string;
  readonly #local?: string;

  constructor(private readonly env: Env) {
    this.#envFile = env.GOMA_HTTP_AUTHORIZATION_FILE ? expandUserPath(env.GOMA_HTTP_AUTHORIZATION_FILE, env) : undefined;
    this.#stored = storedTokenPath(env);
    this.#local = localTokenFor(env);
  }

  /**
   * The current lookup result (re-resolved after a file changed). The local token goes only to a loopback
   * port whose listener is this user's (lib/auth/listener-owner.ts, checked on every call: the port can
   * change hands while the server is down); to another user's listener nothing is sent and `error` says why.
   */
  get(): ClientAuthorization {
    const stamp = `${stampOf(this.#envFile)}|${this.#envFile ? "" : `${stampOf(this.#stored)}|${stampOf(this.#local)}`}`;
    if (!this.#value || stamp !== this.#stamp) {
      this.#value = resolveClientAuthorization(this.env);
      this.#stamp = stamp;
    }
    if (this.#value.source === "local token" && typeof process.getuid === "function") {
      const port = Number(this.env.GOMA_SERVER_PORT || (gomaBool(this.env.GOMA_USE_SSL) ? DEFAULTS.serverSslPort : DEFAULTS.serverPort));
      const foreign = Number.isInteger(port) ? foreignListener(port, process.getuid()) : undefined;
      if (foreign) return { source: "local token", path: this.#value.path, error: foreign };
    }
    return this.#value;
  }
}
