/**
 * The token `goma auth login` stores for the proxy: `$XDG_CONFIG_HOME/goma/token`, else
 * `~/.config/goma/token`. The file holds the bare token and a newline (the proxy sends
 * `Authorization: Bearer <token>`), is created 0600 in a 0700 directory, and is written atomically
 * (temp file in the same directory, fsync, rename), so a running proxy never reads half a token.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** An environment (process.env or a test's). */
export type Env = Record<string, string | undefined>;

/** `$XDG_CONFIG_HOME/goma`, else `$HOME/.config/goma`. */
export function gomaConfigDir(env: Env): string {
  return env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, "goma") : join(env.HOME || homedir(), ".config", "goma");
}

/** Path of the stored token. */
export function storedTokenPath(env: Env): string {
  return join(gomaConfigDir(env), "token");
}

/**
 * Normalizes what a user pastes: trims, drops a leading `Bearer `.
 * @throws {SyntaxError} when empty or containing whitespace inside.
 * @example normalizeToken("Bearer abc\n") // "abc"
 */
export function normalizeToken(text: string): string {
  const t = text.trim().replace(/^Bearer\s+/i, "");
  if (!t) throw new SyntaxError("Token must not be empty");
  if (/\s/.test(t)) throw new SyntaxError("Token must be one word without spaces or newlines");
  return t;
}

/**
 * Stores `token` (normalized) atomically with mode 0600.
 * @returns the path written.
 * @throws {SyntaxError} for an empty token; {Error} from the file system.
 */
export function storeToken(env: Env, token: string): string {
  const t = normalizeToken(token);
  const path = storedTokenPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, t + "\n");
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

/**
 * The stored token, or undefined when there is none.
 * @throws {Error} when the file exists but cannot be read (EACCES …).
 */
export function readStoredToken(env: Env): string | undefined {
  let text: string;
  try {
    text = readFileSync(storedTokenPath(env), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const t = text.trim();
  return t || undefined;
}

/** Removes the stored token; true when there was one. */
export function removeStoredToken(env: Env): boolean {
  try {
    unlinkSync(storedTokenPath(env));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
