/**
 * Command-line helpers shared by the subcommands (server, proxy, doctor): repeatable flags, which citty
 * does not collect; `--platform-property KEY=VALUE` lists; and how this program runs itself again.
 */

/**
 * A mistake on the command line (an unknown flag, a value of the wrong form). The CLI prints its message
 * as one line, without a stack trace, and exits 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The candidate closest to `word` by edit distance (a swap of two neighbours counts as one edit), when
 * it is close enough to be a likely typo: at most a third of the name's length without leading dashes,
 * and at least 1. Undefined otherwise.
 * @example nearest("--prot", ["--port", "--listen"]) // "--port"
 * @example nearest("--bogus", ["--tools"]) // undefined
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const bare = (s: string) => s.replace(/^-+/, "");
  const c = closest(word, candidates);
  return c && c.distance <= Math.max(1, Math.floor(bare(word).length / 3)) ? c.name : undefined;
}

/**
 * The candidate closest to `word` by edit distance, however far (leading dashes ignored; the first of
 * equally close ones); undefined only when there are no candidates.
 * @example closest("--bogus", ["--port", "--listen"]) // { name: "--port", distance: 5 }
 */
export function closest(word: string, candidates: readonly string[]): { name: string; distance: number } | undefined {
  const bare = (s: string) => s.replace(/^-+/, "");
  let best: { name: string; distance: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(bare(word), bare(c));
    if (!best || d < best.distance) best = { name: c, distance: d };
  }
  return best;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Whether a stream may get ANSI colour (or a redrawn progress bar): only a terminal, and only while
 * `NO_COLOR` is unset or empty (https://no-color.org).
 * @example colourWanted(process.stderr.isTTY, process.env)
 */
export function colourWanted(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return Boolean(isTTY) && !env.NO_COLOR;
}

/** `text` without ANSI escape sequences (colours, cursor moves). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}

/**
 * Whether `e` is a programming mistake in goma rather than something the user or the environment did:
 * the errors JavaScript throws for bad code (a TypeError from reading a property of undefined …) and
 * failed assertions.
 */
export function isInternalError(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof EvalError ||
    (e as Error | undefined)?.name === "AssertionError";
}

/**
 * Writes the error the command `name` failed with and returns the exit status: a user mistake
 * ({@link UsageError}, or citty's usage error, code EARG) is one line, 2, never a stack; goma's own bug
 * ({@link isInternalError}) is one line `goma: internal error: …`, 70 (EX_SOFTWARE); anything else (a
 * daemon that cannot start, a bad GOMA_* value, an unreadable file) is one line, 1. With GOMA_DEBUG set,
 * the last two are followed by the stack. The message loses any ANSI colour (citty's errors carry some)
 * unless `colour` (stderr is a terminal without NO_COLOR: {@link colourWanted}).
 * @example reportError("goma server", new UsageError("--port wants …"), write, {}) // 2; wrote "goma server: --port wants …\n"
 */
export function reportError(name: string, e: unknown, write: (text: string) => void, env: Record<string, string | undefined>, colour = false): number {
  const err = e as Error | undefined;
  const userMistake = e instanceof UsageError || (err as { code?: unknown } | undefined)?.code === "EARG";
  const first = String(err?.message ?? e).split("\n")[0]!;
  const msg = colour ? first : stripAnsi(first);
  let code: number;
  if (isInternalError(e)) {
    write(`goma: internal error: ${name}: ${msg}\n`);
    code = 70;
  } else {
    write(msg.startsWith(`${name}:`) || msg.startsWith("goma") ? `${msg}\n` : `${name}: ${msg}\n`);
    code = userMistake ? 2 : 1;
  }
  if (!userMistake && env.GOMA_DEBUG) write(`${err?.stack ?? String(e)}\n`);
  return code;
}

/**
 * A flag's value as a whole number in [min, max].
 * @throws {UsageError} `--port wants a whole number from 0 to 65535, got "abc"`.
 * @example intFlag("--port", "5050", 0, 65535) // 5050
 */
export function intFlag(flag: string, v: unknown, min: number, max: number): number {
  const s = String(v ?? "").trim();
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} wants a whole number from ${min} to ${max}, got "${s}"`);
  return n;
}

/**
 * Values of a repeatable flag, given as `--flag V` or `--flag=V`, in order.
 * @example repeated(["--p", "a", "--p=b"], "--p") // ["a", "b"]
 */
export function repeated(raw: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === flag && i + 1 < raw.length) out.push(raw[++i]!);
    else if (a.startsWith(flag + "=")) out.push(a.slice(flag.length + 1));
  }
  return out;
}

/**
 * The `--platform-property KEY=VALUE` flags as a map (a later KEY wins); empty when none is given.
 * @throws {UsageError} `--platform-property wants KEY=VALUE, got "…"` for a value without `=` or key.
 */
export function platformProperties(raw: string[]): Record<string, string> {
  const platform: Record<string, string> = {};
  for (const kv of repeated(raw, "--platform-property")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`--platform-property wants KEY=VALUE, got "${kv}"`);
    platform[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return platform;
}

/**
 * The argv that runs this program again: the executable alone in the compiled binary (whose argv[1] is
 * the embedded entry `/$bunfs/…`), else the runtime and the script.
 */
export function selfCommand(): string[] {
  const script = process.argv[1] ?? "";
  return script.startsWith("/$bunfs") || !script ? [process.execPath] : [process.execPath, script];
}
