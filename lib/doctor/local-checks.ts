/**
 * `goma doctor`'s checks of this machine and its environment: the binary and its version; cores, memory,
 * free disk in the cache dirs and a writable tmp dir; the GOMA_* variables (server address, booleans the
 * real client aborts on, GOMACTL_USE_PROXY's 502 trap, unknown names).
 *
 * Spec: reference/goma-protocol.md §4.3 (variables, boolean syntax), §6 item 1 (GOMACTL_USE_PROXY).
 */
import { accessSync, constants, mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { availableParallelism, freemem, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { serverAddressFromEnv } from "../config/server-address.ts";
import { gomaTmpDir } from "../ipc/paths.ts";
import { GomaError } from "../util/status.ts";
import { VERSION } from "../util/version.ts";
import { fail, pass, warn, type CheckResult } from "./check.ts";
import { gomaBool, isGomaBool, PROXY_VARS, SERVER_VARS } from "../config/goma-env.ts";

type Env = Record<string, string | undefined>;

/**
 * Every GOMA_* variable goma or Goma's own client reads (reference/goma-protocol.md §4.3 and goma's
 * own). Anything else starting with GOMA_ is reported as unknown (a typo, or a flag goma ignores).
 */
export const KNOWN_GOMA_VARIABLES: readonly string[] = [
  // server address and transport
  "GOMA_SERVER_HOST", "GOMA_SERVER_PORT", "GOMA_USE_SSL", "GOMA_URL_PATH_PREFIX", "GOMA_RPC_EXTRA_PARAMS",
  "GOMA_SSL_EXTRA_CERT", "GOMA_SSL_EXTRA_CERT_DATA", "GOMA_PROXY_HOST", "GOMA_PROXY_PORT",
  "GOMA_HTTP_RPC_COMPRESSION_LEVEL", "GOMA_HTTP_ACCEPT_ENCODING", "GOMA_CONTENT_TYPE_FOR_PROTOBUF",
  "GOMA_BACKEND_SOFT_STICKINESS", "GOMA_COMPILER_PROXY_REUSE_CONNECTION", "GOMA_COMPILER_PROXY_RPC_TIMEOUT_SECS",
  "GOMA_PING_TIMEOUT_SEC", "GOMA_PING_RETRY_INTERVAL",
  // auth
  "GOMA_HTTP_AUTHORIZATION_FILE", "GOMA_OAUTH2_CONFIG_FILE", "GOMA_SERVICE_ACCOUNT_JSON_FILE", "GOMA_GCE_SERVICE_ACCOUNT",
  // behaviour
  "GOMA_USE_LOCAL", "GOMA_USE_INCLUDE_PROCESSOR", "GOMA_LOG_LEVEL", "GOMA_FALLBACK", "GOMA_HERMETIC", "GOMA_ARBITRARY_TOOLCHAIN_SUPPORT", "GOMA_SEND_EXPECTED_OUTPUTS",
  "GOMA_MAX_SUBPROCS", "GOMA_MAX_SUBPROCS_LOW", "GOMA_MAX_SUBPROCS_HEAVY", "GOMA_BURST_MAX_SUBPROCS",
  "GOMA_BURST_MAX_SUBPROCS_LOW", "GOMA_BURST_MAX_SUBPROCS_HEAVY", "GOMA_LOCAL_RUN_PREFERENCE", "GOMA_STORE_ONLY",
  "GOMA_USE_SUCCESS", "GOMA_COMPILER_PROXY_STORE_FILE", "GOMA_COMPILER_PROXY_NEW_FILE_THRESHOLD", "GOMA_PROVIDE_INFO",
  "GOMA_SEND_USER_INFO", "GOMA_FAIL_FAST", "GOMA_FAIL_FOR_UNSUPPORTED_COMPILER_FLAGS", "GOMA_ENABLE_CWD_NORMALIZATION",
  "GOMA_USE_RELATIVE_PATHS_IN_ARGV", "GOMA_FALLBACK_INPUT_FILES", "GOMA_IMPLICIT_INPUT_FILES", "GOMA_DISABLED",
  "GOMA_DUMP", "GOMA_DUMP_REQUEST", "GOMA_DUMP_RESPONSE", "GOMA_MAX_INCLUDE_CACHE_ENTRIES",
  // proxy daemon, dirs, caches
  "GOMA_COMPILER_PROXY_PORT", "GOMA_COMPILER_PROXY_LISTEN_ADDR", "GOMA_COMPILER_PROXY_SOCKET_NAME",
  "GOMA_COMPILER_PROXY_NUM_FIND_PORTS", "GOMA_COMPILER_PROXY_LOCK_FILENAME", "GOMA_COMPILER_PROXY_DAEMON_MODE",
  "GOMA_COMPILER_PROXY_TRUSTED_IPS", "GOMA_TMP_DIR", "GOMA_CACHE_DIR", "GOMA_PROJECT_SUFFIX",
  "GOMA_COMPILER_INFO_CACHE_FILE", "GOMA_DEPS_CACHE_FILE", "GOMA_LOCAL_OUTPUT_CACHE_DIR",
  "GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB", "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_CACHE_AMOUNT_IN_MB",
  "GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS", "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS", "GOMA_LOG_CLEAN_INTERVAL",
  // goma's own
  "GOMA_LOG_LEVEL", "GOMA_BIN", "GOMA_PROXY_READY_FD", "GOMA_PREFIX_MAP_LAST",
  // and whatever the proxy's and the server's variable tables list (lib/config/goma-env.ts)
  ...[...PROXY_VARS, ...SERVER_VARS].map((v) => v.name).filter((n) => n.startsWith("GOMA_")),
];


/** The closest known name (edit distance ≤ 3), for "did you mean". */
function closest(name: string): string | undefined {
  const d = (a: string, b: string) => {
    const m = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
    for (let j = 1; j <= b.length; j++) m[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        m[i]![j] = Math.min(m[i - 1]![j]! + 1, m[i]![j - 1]! + 1, m[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
    }
    return m[a.length]![b.length]!;
  };
  let best: [string, number] | undefined;
  for (const k of KNOWN_GOMA_VARIABLES) {
    const x = d(name, k);
    if (x <= 3 && (!best || x < best[1])) best = [k, x];
  }
  return best?.[0];
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/** The binary, its version and the runtime. */
export function binaryCheck(): CheckResult {
  const runtime = (globalThis as { Bun?: { version: string } }).Bun ? `bun ${(globalThis as { Bun: { version: string } }).Bun.version}` : `node ${process.version}`;
  return pass("local.binary", "goma binary", `goma ${VERSION} at ${process.execPath} (${runtime}, ${process.platform}/${process.arch})`, { version: VERSION, path: process.execPath });
}

/** Cores, memory, free disk in the cache dirs, a writable tmp dir. */
export function hostChecks(env: Env, cacheDirs: string[]): CheckResult[] {
  const out: CheckResult[] = [];
  const cores = availableParallelism();
  const mem = `${cores} cores, ${gib(totalmem())} memory (${gib(freemem())} free)`;
  out.push(cores < 2
    ? warn("local.host", "host", mem, "one core: local fallbacks and the include scan will be slow; goma helps most when the backend has more cores than this machine")
    : pass("local.host", "host", mem, { cores, memoryBytes: totalmem() }));
  for (const dir of cacheDirs) {
    let probe = dir;
    // The dir may not exist yet: measure the nearest existing parent.
    for (;;) {
      try {
        accessSync(probe, constants.F_OK);
        break;
      } catch {
        const parent = join(probe, "..");
        if (parent === probe) break;
        probe = parent;
      }
    }
    try {
      const st = statfsSync(probe);
      const free = Number(st.bavail) * Number(st.bsize);
      const ev = `${gib(free)} free under ${dir}`;
      out.push(free < 1 * 2 ** 30
        ? fail("local.disk", "free disk", ev, `free space on that filesystem, or point the cache elsewhere (GOMA_CACHE_DIR / goma server --cache-dir)`, { dir, freeBytes: free })
        : free < 5 * 2 ** 30 ? warn("local.disk", "free disk", ev, "less than 5 GiB: caches will churn; free some space", { dir, freeBytes: free })
          : pass("local.disk", "free disk", ev, { dir, freeBytes: free }));
    } catch (e) {
      out.push(warn("local.disk", "free disk", `cannot measure ${dir}: ${(e as Error).message}`, "check that the directory is reachable"));
    }
  }
  const tmp = gomaTmpDir(env);
  try {
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const f = join(tmp, `.doctor-${process.pid}`);
    writeFileSync(f, "ok");
    rmSync(f);
    out.push(pass("local.tmp", "tmp dir", `${tmp} is writable (the proxy's socket lives there)`));
  } catch (e) {
    out.push(fail("local.tmp", "tmp dir", `${tmp} is not writable: ${(e as Error).message}`, `fix its permissions or set GOMA_TMP_DIR to a writable directory (default under ${tmpdir()} or /run/user/<uid>)`));
  }
  return out;
}

/** The GOMA_* variables. */
export function envChecks(env: Env): CheckResult[] {
  const out: CheckResult[] = [];
  try {
    const c = serverAddressFromEnv(env);
    const set = ["GOMA_SERVER_HOST", "GOMA_SERVER_PORT", "GOMA_USE_SSL"].filter((k) => env[k] !== undefined).map((k) => `${k}=${env[k]}`);
    out.push(pass("env.server", "server address", `${c.useSsl ? "https" : "http"}://${c.host}:${c.port}${c.pathPrefix} (${set.length ? set.join(" ") : "defaults"})`));
  } catch (e) {
    out.push(fail("env.server", "server address", GomaError.from(e).rawMessage, "set GOMA_SERVER_PORT to a port number, GOMA_USE_SSL to true or false and GOMA_HTTP_RPC_COMPRESSION_LEVEL to 0..9"));
  }
  for (const k of ["GOMA_USE_LOCAL", "GOMA_FALLBACK", "GOMA_ARBITRARY_TOOLCHAIN_SUPPORT", "GOMA_USE_SSL", "GOMA_STORE_ONLY", "GOMA_USE_SUCCESS", "GOMA_DISABLED"]) {
    const v = env[k];
    if (v !== undefined && v !== "" && !isGomaBool(v)) {
      out.push(fail("env.bool", k, `${k}="${v}" is not a boolean; Goma's own client aborts on it`, `set ${k} to true or false`));
    }
  }
  if (gomaBool(env.GOMA_FALLBACK) === false) {
    out.push(warn("env.fallback", "GOMA_FALLBACK", `GOMA_FALLBACK=${env.GOMA_FALLBACK}: a compile fails when goma cannot run it remotely`, "unset GOMA_FALLBACK (default true) unless failing loudly is wanted"));
  }
  if (gomaBool(env.GOMA_DISABLED) === true) {
    out.push(warn("env.disabled", "GOMA_DISABLED", "GOMA_DISABLED is true: goma cc runs every compiler locally", "unset GOMA_DISABLED"));
  }
  if (gomaBool(env.GOMA_ARBITRARY_TOOLCHAIN_SUPPORT) === false) {
    out.push(warn("env.ats", "GOMA_ARBITRARY_TOOLCHAIN_SUPPORT", "false: Goma's own client would not send the compiler, and remoteexec-style servers refuse its requests",
      "unset it or set it to true (goma's proxy always sends the toolchain)"));
  }
  const ctl = env.GOMACTL_USE_PROXY;
  if (gomaBool(ctl) === true) {
    out.push(fail("env.gomactl_proxy", "GOMACTL_USE_PROXY", `GOMACTL_USE_PROXY=${ctl}: goma_ctl's http_proxy forwards to https://<host>:443 and drops GOMA_SERVER_PORT, so a plain-HTTP goma server answers 502 on /ping`,
      "export GOMACTL_USE_PROXY=false when using Goma's goma_ctl with goma server (goma's own proxy ignores it)"));
  } else if (ctl === undefined) {
    out.push(pass("env.gomactl_proxy", "GOMACTL_USE_PROXY", "not set (only Goma's goma_ctl reads it; its final version defaults to true, which breaks plain-HTTP servers: set it to false there)"));
  } else {
    out.push(pass("env.gomactl_proxy", "GOMACTL_USE_PROXY", `GOMACTL_USE_PROXY=${ctl}`));
  }
  const unknown = Object.keys(env).filter((k) => k.startsWith("GOMA_") && !KNOWN_GOMA_VARIABLES.includes(k)).sort();
  if (unknown.length) {
    out.push(warn("env.unknown", "unknown GOMA_* variables", unknown.map((k) => { const c = closest(k); return c ? `${k} (did you mean ${c}?)` : k; }).join(", "),
      "remove or rename them: goma ignores them"));
  } else {
    out.push(pass("env.unknown", "unknown GOMA_* variables", "none"));
  }
  return out;
}
