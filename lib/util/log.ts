/**
 * A tiny leveled logger writing one line per event to stderr: `2026-11-21T07:00:00.000Z INFO msg`.
 * Daemons log here; nothing secret (tokens, Authorization headers) is ever passed to it.
 *
 * The level (error | warn | info | debug) is set at start by whoever holds the configuration:
 * `goma proxy` and `goma server` from `ProxyConfig.logLevel` / `ServerConfig.logLevel` (GOMA_LOG_LEVEL,
 * read by lib/config like every GOMA_* variable), through {@link setLogLevel}. Until then it is `info`
 * (lib/config/goma-env.ts `DEFAULTS.logLevel`). Import-free, so lib/config and the `goma cc` path may use it.
 */

/** The levels, least verbose first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

let current: number = LOG_LEVELS.indexOf("info");

/** Whether `s` names a level. */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/** Logs from now on at `level` and the levels before it (debug: everything). */
export function setLogLevel(level: LogLevel): void {
  current = LOG_LEVELS.indexOf(level);
}

/** The level in use. */
export function logLevel(): LogLevel {
  return LOG_LEVELS[current]!;
}

/** How many recent lines {@link recentLogLines} keeps. */
const KEEP_LINES = 500;
const recent: string[] = [];

function emit(level: LogLevel, msg: string): void {
  if (LOG_LEVELS.indexOf(level) > current) return;
  const line = `${new Date().toISOString()} ${level.toUpperCase()} ${msg}`;
  recent.push(line);
  if (recent.length > KEEP_LINES) recent.shift();
  process.stderr.write(line + "\n");
}

/** The last lines logged by this process (at most 500, oldest first), for the dashboard's /logz. */
export function recentLogLines(): string[] {
  return [...recent];
}

/** The logger. */
export const log = {
  error: (m: string) => emit("error", m),
  warn: (m: string) => emit("warn", m),
  info: (m: string) => emit("info", m),
  debug: (m: string) => emit("debug", m),
};
