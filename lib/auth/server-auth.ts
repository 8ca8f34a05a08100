/**
 * Who may use `goma server`: the check behind every Goma API request and `/ping` (remoteexec_proxy also
 * authenticates ping, reference/goma-protocol.md §1.5–1.6), without Google. Two sources, either or both:
 *
 * - `--auth-tokens FILE`: one `<token> <user>` per line, `#` comments and blank lines ignored;
 * - `--auth-secret FILE`: tokens the server signs itself (lib/auth/signed-token.ts, `goma auth issue`).
 *
 * `--allowed-users a,b,*@example.com` restricts both further. Files are re-read when they change.
 * Tokens are compared in constant time (SHA-256 of each, `crypto.timingSafeEqual`, no early exit) and are
 * never part of a message or log line: refusals say what was wrong, not what was sent.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { WatchedFile } from "./watched-file.ts";
import { parseSecretFile, SIGNED_TOKEN_PREFIX, verifySignedToken } from "./signed-token.ts";

/** Where an accepted token came from. */
export type TokenSource = "tokens-file" | "signed-token" | "local-token" | "internal";

/** A token given directly (not read from a file): the local token, the server's own backend token. */
export interface FixedToken {
  token: string;
  user: string;
  source: TokenSource;
}

/** The outcome of one check: a user, or the reason of a 401 (never containing the token). */
export type AuthResult =
  | { ok: true; user: string; source: TokenSource; expiresAt?: number }
  | { ok: false; reason: string };

/** Options of {@link Authenticator}: at least one of `tokensFile` and `secretFile`. */
export interface AuthenticatorOptions {
  /** `--auth-tokens`: lines of `<token> <user>`. */
  tokensFile?: string;
  /** `--auth-secret`: secrets for signed tokens. */
  secretFile?: string;
  /** `--allowed-users`: user names, or `*@domain`; empty: every user a token names. */
  allowedUsers?: string[];
  /** Tokens accepted besides the files': the per-user local token (lib/auth/local-token.ts), the internal one. */
  fixedTokens?: FixedToken[];
  /** Path of the local token, when the server uses one (named in 401 reasons). */
  localTokenPath?: string;
  /** Clock in ms (tests). */
  nowMs?: () => number;
}

interface TokenEntry {
  hash: Buffer;
  user: string;
}

/**
 * Parses a tokens file: `<token> <user>` per line (whitespace-separated), `#` comments, blank lines.
 * @throws {SyntaxError} naming the line (never its content) when a line has not exactly two fields or a
 * token repeats with another user.
 * @example parseTokensFile("# ci\ns3cr3t-token-value ci-bot\n")
 */
export function parseTokensFile(text: string): { hash: Buffer; user: string }[] {
  const out: TokenEntry[] = [];
  const seen = new Map<string, string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new SyntaxError(`Line ${i + 1} must be "<token> <user>", got ${fields.length} field(s)`);
    const [token, user] = fields as [string, string];
    const hash = createHash("sha256").update(token).digest();
    const prev = seen.get(hash.toString("hex"));
    if (prev !== undefined && prev !== user) throw new SyntaxError(`Line ${i + 1} repeats a token of user "${prev}" for user "${user}"`);
    seen.set(hash.toString("hex"), user);
    out.push({ hash, user });
  }
  return out;
}

/**
 * True when `user` is allowed by `patterns` (exact names or `*@domain`; an empty list allows all).
 * @example userAllowed("bob@example.com", ["*@example.com"]) // true
 */
export function userAllowed(user: string, patterns: string[]): boolean {
  if (!patterns.length) return true;
  return patterns.some((p) => (p.startsWith("*@") ? user.endsWith(p.slice(1)) : p === user));
}

/** Checks `Authorization` headers. Safe for concurrent use. */
export class Authenticator {
  readonly #tokens?: WatchedFile<TokenEntry[]>;
  readonly #secrets?: WatchedFile<Buffer[]>;
  readonly #allowed: string[];
  readonly #fixed: (FixedToken & { hash: Buffer })[];
  readonly #now: () => number;

  /**
   * Reads the files once.
   * @throws {GomaError} FailedPrecondition when a file cannot be read or parsed (the message names the
   * file and line); {TypeError} when no file and no fixed token is given.
   */
  constructor(readonly opts: AuthenticatorOptions) {
    if (!opts.tokensFile && !opts.secretFile && !opts.fixedTokens?.length) throw new TypeError("Authenticator needs --auth-tokens or --auth-secret");
    this.#fixed = (opts.fixedTokens ?? []).map((t) => ({ ...t, hash: createHash("sha256").update(t.token).digest() }));
    if (opts.tokensFile) this.#tokens = new WatchedFile(opts.tokensFile, "the tokens file (--auth-tokens)", (b) => parseTokensFile(b.toString("utf8")));
    if (opts.secretFile) this.#secrets = new WatchedFile(opts.secretFile, "the secret file (--auth-secret)", (b) => parseSecretFile(b.toString("utf8")));
    this.#allowed = (opts.allowedUsers ?? []).map((u) => u.trim()).filter(Boolean);
    this.#now = opts.nowMs ?? Date.now;
  }

  /** One line for the status page and logs: the sources and the allowed users (no secrets). */
  describe(): string {
    const parts: string[] = [];
    if (this.#tokens) parts.push(`${this.#tokens.get().length} token(s) from ${this.opts.tokensFile}`);
    if (this.#secrets) parts.push(`signed tokens (secret ${this.opts.secretFile})`);
    if (this.opts.localTokenPath) parts.push(`the local token ${this.opts.localTokenPath} (its user only)`);
    parts.push(this.#allowed.length ? `allowed users ${this.#allowed.join(",")}` : "any user");
    return parts.join("; ");
  }

  /**
   * Checks one `Authorization` header value (`null` when absent).
   * @returns the user, or the reason for a 401: missing header, no `Bearer ` prefix, unknown token,
   * bad signature, expired token, or user not in `--allowed-users`.
   */
  check(header: string | null | undefined): AuthResult {
    if (header === null || header === undefined || header.trim() === "") {
      if (this.opts.localTokenPath) {
        return { ok: false, reason: `missing Authorization header: this server accepts only its own user's local token ${this.opts.localTokenPath} ` +
          "(mode 0600; goma proxy, goma doctor and goma auth read it by themselves when run as that user); other users need a server with --auth-tokens or --auth-secret" };
      }
      return { ok: false, reason: 'missing Authorization header: send "Authorization: Bearer <token>" (goma auth login, or GOMA_HTTP_AUTHORIZATION_FILE)' };
    }
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) {
      const why = /^bearer\b/i.test(header.trim()) ? "no token after it" : `a value without the "Bearer " prefix (${header.trim().split(/\s+/).length} word(s))`;
      return { ok: false, reason: `malformed Authorization header: it must be "Bearer <token>", got ${why}` };
    }
    const token = m[1]!;
    let found: { user: string; source: TokenSource; expiresAt?: number } | undefined;
    let refusal: string | undefined;
    if (token.startsWith(SIGNED_TOKEN_PREFIX) && this.#secrets) {
      const v = verifySignedToken(token, this.#secrets.get(), Math.floor(this.#now() / 1000));
      if (v.ok) found = { user: v.claims.user, source: "signed-token", expiresAt: v.claims.expiresAt };
      else if (v.problem.kind === "expired") {
        refusal = `expired token: the token of user "${v.problem.claims.user}" expired at ${new Date(v.problem.claims.expiresAt! * 1000).toISOString()}; ` +
          "issue a new one (goma auth issue) and store it (goma auth login)";
      } else if (v.problem.kind === "malformed") refusal = `malformed signed token: ${v.problem.detail}`;
      else refusal = "unknown token: its signature matches none of the server's secrets (--auth-secret); was it issued with another secret?";
    }
    if (!found && this.#fixed.length) {
      const hash = createHash("sha256").update(token).digest();
      for (const e of this.#fixed) {
        if (timingSafeEqual(hash, e.hash) && !found) found = { user: e.user, source: e.source };
      }
    }
    if (!found && this.#tokens) {
      const hash = createHash("sha256").update(token).digest();
      for (const e of this.#tokens.get()) {
        // Every entry is compared; no early exit.
        if (timingSafeEqual(hash, e.hash) && !found) found = { user: e.user, source: "tokens-file" };
      }
    }
    if (!found) {
      const where = this.#tokens ? "in the server's tokens file (--auth-tokens)" : this.opts.localTokenPath ? `the server's local token ${this.opts.localTokenPath}` : "in the server's list";
      return { ok: false, reason: refusal ?? `unknown token: it is not ${where}${this.#secrets ? " and is not a token signed by its secret (--auth-secret)" : ""}` };
    }
    if (!userAllowed(found.user, this.#allowed)) {
      return { ok: false, reason: `user "${found.user}" is not allowed: the server's --allowed-users is ${this.#allowed.join(",")}` };
    }
    return { ok: true, ...found };
  }
}

/**
 * True when a listen address only accepts connections from this host: `127.0.0.0/8`, `localhost`,
 * `::1`.
 * @example isLoopbackHost("0.0.0.0") // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The refusal to start without auth on a non-loopback address, or undefined when starting is fine.
 * Spec: issue #5 — auth is required off loopback unless `--allow-unauthenticated`.
 */
export function unauthenticatedListenProblem(listen: string, hasAuth: boolean, allowUnauthenticated: boolean): string | undefined {
  if (hasAuth || allowUnauthenticated || isLoopbackHost(listen)) return undefined;
  return `refusing to listen on "${listen}" without authentication: anyone who reaches the port could run commands ` +
    "on the backend. Give --auth-tokens FILE and/or --auth-secret FILE (see goma auth --help), or --allow-unauthenticated " +
    "if the network is trusted, or --listen 127.0.0.1";
}
