/**
 * A tiny leveled logger writing one line per event to stderr: `2026-11-21T07:00:00.000Z INFO msg`.
 * Daemons log here; nothing secret (tokens, Authorization headers) is ever passed to it.
 * GOMA_LOG_LEVEL = error | warn | info (default) | debug.
 */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
type Level = keyof typeof LEVELS;
const current: number = LEVELS[(process.env.GOMA_LOG_LEVEL as Level) ?? "info"] ?? LEVELS.info;

function emit(level: Level, msg: string): void {
  if (LEVELS[level] > current) return;
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}\n`);
}

/** The logger. */
export const log = {
  error: (m: string) => emit("error", m),
  warn: (m: string) => emit("warn", m),
  info: (m: string) => emit("info", m),
  debug: (m: string) => emit("debug", m),
};
