/**
 * Command-line helpers shared by the subcommands (server, proxy, doctor): repeatable flags, which citty
 * does not collect; `--platform-property KEY=VALUE` lists; and how this program runs itself again.
 */

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
 * @throws {TypeError} `--platform-property wants KEY=VALUE, got "…"` for a value without `=` or key.
 */
export function platformProperties(raw: string[]): Record<string, string> {
  const platform: Record<string, string> = {};
  for (const kv of repeated(raw, "--platform-property")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new TypeError(`--platform-property wants KEY=VALUE, got "${kv}"`);
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
