/**
 * Where the proxy's files live, as Goma computes them (reference/goma-protocol.md §4.1):
 * `$GOMA_TMP_DIR/$GOMA_COMPILER_PROXY_SOCKET_NAME` (default name `goma.ipc`; an absolute name is used
 * as is). The default tmp dir is `/run/user/<uid>/goma_<user>` when `/run/user/<uid>` exists and
 * belongs to the user, else `/tmp/goma_<user>`; `GOMA_PROJECT_SUFFIX` appends `_<suffix>`. The cache
 * dir is `$GOMA_CACHE_DIR`, else `$GOMA_TMP_DIR/goma_cache`.
 * No imports beyond node:fs, node:path and lib/config/goma-env.ts (on the lean `cc` path).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS, type Env } from "./goma-env.ts";

/** The user name goma uses in paths: `$USER`, `$LOGNAME`, else `uid<N>`. */
export function userName(env: Env = process.env): string {
  return env.USER || env.LOGNAME || `uid${process.getuid?.() ?? 0}`;
}

/** Goma's tmp dir, GOMA_TMP_DIR (not created here). */
export function gomaTmpDir(env: Env = process.env): string {
  if (env.GOMA_TMP_DIR) return env.GOMA_TMP_DIR;
  const uid = process.getuid?.() ?? 0;
  const suffix = env.GOMA_PROJECT_SUFFIX ? `_${env.GOMA_PROJECT_SUFFIX}` : "";
  const run = `/run/user/${uid}`;
  try {
    const st = statSync(run);
    if (st.isDirectory() && st.uid === uid && (st.mode & 0o700) === 0o700) return `${run}/goma_${userName(env)}${suffix}`;
  } catch {
    // no /run/user/<uid>: fall through
  }
  return `/tmp/goma_${userName(env)}${suffix}`;
}

/**
 * GOMA_CACHE_DIR: where the proxy (and `goma doctor`) cache CompilerInfo and include probes; default
 * `$GOMA_TMP_DIR/goma_cache` (not created here).
 */
export function gomaCacheDir(env: Env = process.env): string {
  return env.GOMA_CACHE_DIR || join(gomaTmpDir(env), DEFAULTS.cacheDirName);
}

/** Absolute path of the proxy's unix socket. */
export function proxySocketPath(env: Env = process.env): string {
  const name = env.GOMA_COMPILER_PROXY_SOCKET_NAME || DEFAULTS.socketName;
  return name.startsWith("/") ? name : `${gomaTmpDir(env)}/${name}`;
}

/**
 * `goma cc`'s spool of compiles it ran while no proxy answered: `$GOMA_TMP_DIR/goma_cc_unreached.jsonl`,
 * one JSON object per line (lib/ipc/protocol.ts `CcReport["report"]`). The proxy counts and empties it
 * when it starts and whenever its stats are read.
 */
export function unreachedSpoolPath(env: Env = process.env): string {
  return `${gomaTmpDir(env)}/goma_cc_unreached.jsonl`;
}
