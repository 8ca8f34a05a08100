/**
 * Tokens that `goma server` signs itself, so a self-hosted cluster needs no Google account and no token
 * list: `goma auth issue --user alice --expires 30d --secret FILE` prints one, and a server started with
 * `--auth-secret FILE` accepts it without any other state.
 *
 * Format, version 1 (three dot-separated fields, all base64url without padding, RFC 4648 §5):
 *
 *     goma1.<payload>.<signature>
 *
 * - `goma1` names the format and its version; another version gets another prefix.
 * - `<payload>` is the UTF-8 JSON object `{"u":"<user>","iat":<issued, unix s>,"exp":<expiry, unix s>}`;
 *   `exp` is absent for a token that never expires.
 * - `<signature>` is HMAC-SHA256(secret, "goma1." + <payload>), 32 bytes.
 *
 * The secret is a line of the secret file (see {@link parseSecretFile}); verification tries every line,
 * signing uses the first, so a secret is rotated by adding the new one on top and deleting the old one
 * once its tokens have expired. Signatures are compared with `crypto.timingSafeEqual`.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The prefix (format name and version) of every signed token. */
export const SIGNED_TOKEN_PREFIX = "goma1.";
/** Fewest bytes a secret may have: 16 (128 bits). `goma auth new-secret` writes 32. */
export const MIN_SECRET_BYTES = 16;
/** Longest user name a token may carry. */
const MAX_USER_LENGTH = 256;
/** User names: letters, digits and `._@+-` (plain names and e-mail addresses). */
const USER_RE = /^[A-Za-z0-9._@+-]+$/;

/** What a signed token says, once its signature is verified. */
export interface SignedTokenClaims {
  /** The user the token was issued to. */
  user: string;
  /** When it was issued, unix seconds. */
  issuedAt: number;
  /** When it stops being accepted, unix seconds; undefined: never. */
  expiresAt?: number;
}

/** Why a signed token was refused. `malformed`: not this format; `signature`: no secret made it; `expired`. */
export type SignedTokenProblem =
  | { kind: "malformed"; detail: string }
  | { kind: "signature" }
  | { kind: "expired"; claims: SignedTokenClaims };

const b64url = (b: Buffer) => b.toString("base64url");

/**
 * Checks a user name for a token.
 * @throws {TypeError} when it is empty, too long or has characters other than letters, digits, `._@+-`.
 * @example validateUserName("alice@example.com") // ok
 */
export function validateUserName(user: string): void {
  if (!user) throw new TypeError("User name must not be empty");
  if (user.length > MAX_USER_LENGTH) throw new TypeError(`User name must be at most ${MAX_USER_LENGTH} characters, got ${user.length}`);
  if (!USER_RE.test(user)) throw new TypeError(`User name must use only letters, digits and "._@+-", got "${user}"`);
}

/**
 * The secrets of a secret file: each line that is neither blank nor a `#` comment, trimmed, as UTF-8
 * bytes. The first one signs.
 * @throws {RangeError} when there is none, or one is shorter than {@link MIN_SECRET_BYTES} bytes.
 * @example parseSecretFile("# rotated 2026-11\nnew-secret-of-32-bytes...\nold-secret...\n")
 */
export function parseSecretFile(text: string): Buffer[] {
  const secrets: Buffer[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const b = Buffer.from(line, "utf8");
    if (b.byteLength < MIN_SECRET_BYTES) {
      throw new RangeError(`Secret on line ${i + 1} must have at least ${MIN_SECRET_BYTES} bytes, got ${b.byteLength} (goma auth new-secret writes a good one)`);
    }
    secrets.push(b);
  }
  if (!secrets.length) throw new RangeError("Secret file holds no secret (goma auth new-secret writes one)");
  return secrets;
}

/** A fresh random secret line: 32 random bytes, base64url (43 characters). */
export function newSecret(): string {
  return b64url(randomBytes(32));
}

function sign(secret: Buffer, signedPart: string): Buffer {
  return createHmac("sha256", secret).update(signedPart).digest();
}

/**
 * Issues a token for `user`, signed with `secret`.
 * @param opts.nowSec issue time, unix seconds (default: now); opts.ttlSec lifetime in seconds (default: none).
 * @returns `goma1.<payload>.<signature>`.
 * @throws {TypeError} for an invalid user name; {RangeError} for a non-positive lifetime.
 * @example issueSignedToken(Buffer.from("0123456789abcdef0123"), "alice", { ttlSec: 86400 })
 */
export function issueSignedToken(secret: Buffer, user: string, opts: { nowSec?: number; ttlSec?: number } = {}): string {
  validateUserName(user);
  const iat = Math.floor(opts.nowSec ?? Date.now() / 1000);
  if (opts.ttlSec !== undefined && !(opts.ttlSec > 0)) throw new RangeError(`Token lifetime must be positive, got ${opts.ttlSec} s`);
  const payload: Record<string, unknown> = { u: user, iat };
  if (opts.ttlSec !== undefined) payload.exp = iat + Math.floor(opts.ttlSec);
  const body = b64url(Buffer.from(JSON.stringify(payload), "utf8"));
  const signedPart = SIGNED_TOKEN_PREFIX + body;
  return `${signedPart}.${b64url(sign(secret, signedPart))}`;
}

/**
 * Verifies a signed token against every secret (in constant time per secret) and its expiry.
 * Never throws: a refusal is a {@link SignedTokenProblem}.
 * @param nowSec current time, unix seconds.
 */
export function verifySignedToken(
  token: string, secrets: Buffer[], nowSec: number,
): { ok: true; claims: SignedTokenClaims } | { ok: false; problem: SignedTokenProblem } {
  const malformed = (detail: string) => ({ ok: false as const, problem: { kind: "malformed" as const, detail } });
  if (!token.startsWith(SIGNED_TOKEN_PREFIX)) return malformed(`it does not start with "${SIGNED_TOKEN_PREFIX}"`);
  const parts = token.split(".");
  if (parts.length !== 3) return malformed(`it has ${parts.length} dot-separated fields, want 3`);
  const [, body, sig] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(body) || !/^[A-Za-z0-9_-]+$/.test(sig)) return malformed("a field is not base64url");
  const given = Buffer.from(sig, "base64url");
  const signedPart = SIGNED_TOKEN_PREFIX + body;
  let match = false;
  for (const s of secrets) {
    const want = sign(s, signedPart);
    // Lengths are public (32 bytes); compare every secret without stopping early.
    if (given.byteLength === want.byteLength && timingSafeEqual(given, want)) match = true;
  }
  if (!match) return { ok: false, problem: { kind: "signature" } };
  let payload: { u?: unknown; iat?: unknown; exp?: unknown };
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return malformed("its payload is not JSON");
  }
  if (typeof payload.u !== "string" || typeof payload.iat !== "number" || (payload.exp !== undefined && typeof payload.exp !== "number")) {
    return malformed("its payload lacks u, iat or has a non-numeric exp");
  }
  const claims: SignedTokenClaims = { user: payload.u, issuedAt: payload.iat, expiresAt: payload.exp as number | undefined };
  if (claims.expiresAt !== undefined && nowSec >= claims.expiresAt) return { ok: false, problem: { kind: "expired", claims } };
  return { ok: true, claims };
}

/**
 * Parses a lifetime such as `30d`, `12h`, `90m`, `3600s` or `2w` (a bare number is seconds).
 * @returns seconds.
 * @throws {SyntaxError} for anything else.
 * @example parseDuration("30d") // 2592000
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/.exec(text);
  if (!m) throw new SyntaxError(`Duration must be a number with an optional unit s, m, h, d or w (e.g. 30d), got "${text}"`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  const sec = Math.round(Number(m[1]) * unit);
  if (sec <= 0) throw new SyntaxError(`Duration must be positive, got "${text}"`);
  return sec;
}
