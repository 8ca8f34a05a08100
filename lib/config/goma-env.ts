/**
 * The `GOMA_*` environment variables as Goma reads them: one boolean spelling, and the table of what the
 * proxy reads with each default, which `goma proxy --help` prints (the variables are its only
 * configuration). Lean: no imports, so the `goma cc` path can use it.
 *
 * Spec: Goma client `goma_flags.cc` (GOMA_<NAME> for each flag; booleans accept true/false, t/f, yes/no,
 * y/n, on/off, 1/0); reference/goma-protocol.md §4.3.
 */

const TRUE = /^(1|t|true|y|yes|on)$/i;
const FALSE = /^(0|f|false|n|no|off)$/i;

/**
 * A boolean variable's value in Goma's spellings; undefined when unset, empty or not a boolean.
 * @example gomaBool("on") // true
 * @example gomaBool("0") // false
 * @example gomaBool("maybe") // undefined
 */
export function gomaBool(v: string | undefined): boolean | undefined {
  if (v === undefined || v === "") return undefined;
  if (TRUE.test(v)) return true;
  if (FALSE.test(v)) return false;
  return undefined;
}

/** True when `v` is one of Goma's spellings of a boolean (for checks that refuse anything else). */
export function isGomaBool(v: string): boolean {
  return TRUE.test(v) || FALSE.test(v);
}

/** One variable: its name, its default as a user would write it, and what it does. */
export interface GomaVar {
  name: string;
  default: string;
  what: string;
}

/** What `goma proxy` (and the `goma cc` that talks to it) reads, with Goma's names and meanings. */
export const PROXY_VARS: readonly GomaVar[] = [
  { name: "GOMA_SERVER_HOST", default: "127.0.0.1", what: "goma server's host" },
  { name: "GOMA_SERVER_PORT", default: "5050 (443 with GOMA_USE_SSL)", what: "goma server's port" },
  { name: "GOMA_USE_SSL", default: "false", what: "HTTPS to the server" },
  { name: "GOMA_URL_PATH_PREFIX", default: "/cxx-compiler-service", what: "path prefix of the Goma API" },
  { name: "GOMA_RPC_EXTRA_PARAMS", default: "", what: "appended to every request's URL" },
  { name: "GOMA_HTTP_AUTHORIZATION_FILE", default: "(goma auth login's token, else the loopback server's local token)", what: "file whose content is the Authorization header (~ and $VARS expanded)" },
  { name: "GOMA_HTTP_RPC_COMPRESSION_LEVEL", default: "3", what: "gzip level of request bodies (0: none)" },
  { name: "GOMA_TMP_DIR", default: "/run/user/<uid>/goma_<user>, else <tmpdir>/goma_<user>", what: "the proxy's socket and log directory" },
  { name: "GOMA_COMPILER_PROXY_SOCKET_NAME", default: "goma.ipc", what: "the socket's name in GOMA_TMP_DIR" },
  { name: "GOMA_CACHE_DIR", default: "$GOMA_TMP_DIR/goma_cache", what: "CompilerInfo and include-probe caches" },
  { name: "GOMA_COMPILER_PROXY_PORT", default: "8088", what: "dashboard port (the next free one above it when taken)" },
  { name: "GOMA_USE_INCLUDE_PROCESSOR", default: "true", what: "false: list inputs with the compiler's -M" },
  { name: "GOMA_FALLBACK", default: "true", what: "false: a compile that could not run remotely fails instead of running locally" },
  { name: "GOMA_USE_LOCAL", default: "true", what: "accepted; goma never races a local compile against the remote one" },
  { name: "GOMA_STORE_ONLY", default: "false", what: "do not look results up in the server's cache, only store them" },
  { name: "GOMA_USE_SUCCESS", default: "false", what: "cache only successful compiles" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_DIR", default: "(off)", what: "directory of the proxy's own cache of successful compiles' outputs: identical compiles are answered without the server" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_MAX_CACHE_AMOUNT_IN_MB", default: "30720", what: "above this size (MiB) the local output cache evicts the least recently used entries…" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_CACHE_AMOUNT_IN_MB", default: "20480", what: "…down to this size (MiB)" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS", default: "100000", what: "above this many entries the local output cache evicts…" },
  { name: "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS", default: "80000", what: "…down to this many" },
  { name: "GOMA_DISABLED", default: "false", what: "goma cc runs every compile locally" },
  { name: "GOMA_LOG_LEVEL", default: "info", what: "error, warn, info or debug" },
];

/** {@link PROXY_VARS} as an aligned text table for `--help`. */
export function varsHelp(vars: readonly GomaVar[] = PROXY_VARS): string {
  const w = Math.max(...vars.map((v) => v.name.length));
  return vars.map((v) => `  ${v.name.padEnd(w)}  ${v.what}${v.default ? ` (default: ${v.default})` : ""}`).join("\n");
}
