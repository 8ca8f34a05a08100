/**
 * The per-user local token: what keeps a loopback `goma server` without `--auth-tokens`/`--auth-secret`
 * to its own user on a multi-user machine, the way ssh-agent and the Docker socket protect themselves
 * with file permissions.
 *
 * On first start such a server creates `$XDG_CONFIG_HOME/goma/local-token` (else
 * `~/.config/goma/local-token`): 32 random bytes in hex, mode 0600 in a 0700 directory, created
 * atomically (a temp file linked into place, so two servers starting at once agree on one token). Later
 * starts reuse it. The server then requires `Authorization: Bearer <that token>` on the Goma port and
 * on the embedded backend's REAPI port. The proxy, `goma doctor` and `goma auth info` read the file
 * themselves when they talk to a loopback server and no other token is configured
 * (lib/auth/client-auth.ts), so one user needs no setup; another local user cannot read the file, so
 * their requests get a 401 that names the file.
 */
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { gomaConfigDir, type Env } from "./token-store.ts";
import { Code, GomaError } from "../util/status.ts";

/** Path of the local token for the environment's user. */
export function localTokenPath(env: Env): string {
  return join(gomaConfigDir(env), "local-token");
}

const TOKEN_RE = /^[0-9a-f]{64}$/;

/**
 * Reads the local token at `path`; undefined when the file does not exist.
 * @throws {Error} when it exists but cannot be read (EACCES: another user's file) or is malformed.
 */
export function readLocalToken(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const t = text.trim();
  if (!TOKEN_RE.test(t)) throw new Error(`${path} does not hold a goma local token (64 hex digits)`);
  return t;
}

/**
 * The server side: reads the local token at `path`, creating it (0600, directory 0700) when absent.
 * A file another user could read or write has its mode tightened to 0600 first; a file owned by another
 * user, or a symlink, is refused (someone else could know the token).
 * @throws {GomaError} FailedPrecondition naming the file and the fix.
 */
export function ensureLocalToken(path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 3; attempt++) {
      let st;
      try {
        st = lstatSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      if (st) {
        const uid = process.getuid?.();
        if (!st.isFile()) throw new Error("it is not a regular file");
        if (uid !== undefined && st.uid !== uid) throw new Error(`it belongs to uid ${st.uid}, not to this server's uid ${uid}`);
        if ((st.mode & 0o077) !== 0) chmodSync(path, 0o600);
        const t = readLocalToken(path);
        if (t) return t;
        continue;
      }
      const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      const fd = openSync(tmp, "wx", 0o600);
      try {
        writeSync(fd, randomBytes(32).toString("hex") + "\n");
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path); // fails with EEXIST when another server won the race: read its token instead
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    throw new Error("it keeps changing");
  } catch (e) {
    throw new GomaError(Code.FailedPrecondition, `cannot use the local token "${path}": ${(e as Error).message}; ` +
      "remove it (a new one is made), or give the server --auth-tokens/--auth-secret", { cause: e });
  }
}
