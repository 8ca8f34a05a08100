/**
 * Expands `@file` response files the way gcc and clang do (libiberty `expandargv`/`buildargv`), so goma
 * sees the same argv the compiler would.
 *
 * Spec: libiberty argv.c (`buildargv`, `expandargv`); Goma `CompilerFlags::ExpandPosixArgs`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Nested response files deeper than this are taken to be a cycle (libiberty stops at 2000 files). */
const MAX_DEPTH = 32;

/**
 * Splits response-file text into arguments like libiberty's `buildargv`: whitespace separates
 * arguments; '…' and "…" group (and may produce an empty argument); a backslash makes the next
 * character literal everywhere, also inside quotes.
 *
 * @example splitResponseFile(`-DA="x y" 'it''s' a\\ b`) // ["-DA=x y", "its", "a b"]
 */
export function splitResponseFile(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
  while (i < text.length) {
    while (i < text.length && isSpace(text[i]!)) i++;
    if (i >= text.length) break;
    let arg = "";
    let squote = false;
    let dquote = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\\") {
        if (i + 1 < text.length) arg += text[++i]!;
      } else if (squote) {
        if (c === "'") squote = false;
        else arg += c;
      } else if (dquote) {
        if (c === '"') dquote = false;
        else arg += c;
      } else if (isSpace(c)) {
        break;
      } else if (c === "'") {
        squote = true;
      } else if (c === '"') {
        dquote = true;
      } else {
        arg += c;
      }
    }
    out.push(arg);
  }
  return out;
}

/**
 * Replaces every `@file` argument after argv[0] by the arguments in that file, recursively. File names
 * (also nested ones) are relative to `cwd`, as for the compiler itself.
 *
 * @param argv the command line; argv[0] is never expanded.
 * @param cwd the directory the compile runs in.
 * @returns `{ args }`, or `{ error }` naming the file when one cannot be read (the compiler would then
 *   take "@file" as an input file) or when nesting is too deep.
 */
export function expandResponseFiles(argv: readonly string[], cwd: string): { args: string[] } | { error: string } {
  const out: string[] = argv.length > 0 ? [argv[0]!] : [];
  const err = expandInto(argv.slice(1), cwd, out, 0);
  return err === undefined ? { args: out } : { error: err };
}

function expandInto(args: readonly string[], cwd: string, out: string[], depth: number): string | undefined {
  for (const a of args) {
    if (!a.startsWith("@") || a.length === 1) {
      out.push(a);
      continue;
    }
    if (depth >= MAX_DEPTH) return `response file ${a} is nested more than ${MAX_DEPTH} deep`;
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(cwd, a.slice(1)), "utf8");
    } catch (e) {
      return `cannot read response file ${a.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    }
    const err = expandInto(splitResponseFile(text), cwd, out, depth + 1);
    if (err !== undefined) return err;
  }
  return undefined;
}
