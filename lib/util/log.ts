/**
 * A tiny leveled logger writing one line per event to stderr: `2026-11-21T07:00:00.000Z INFO msg`.
 * Daemons log here; nothing secret (tokens, Authorization headers) is ever passed to it.
 * GOMA_LOG_LEVEL = error | warn | info (default) | debug.
 */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
type Level = keyof typeof LEVELS;
const current: number = LEVELS[(process.env.GOMA_LOG_LEVEL as Level) ?? "info"] ?? LEVELS.info;

/** How many recent lines {@link recentLogLines} keeps. */
const KEEP_LINES = 500;
const recent: string[] = [];

function emit(level: Level, msg: string): void {
  if (LEVELS[level] > current) return;
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
