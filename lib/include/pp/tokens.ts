/**
 * Preprocessing tokens as the include scanner sees them: the tokens of directive lines only (the
 * scanner never tokenizes ordinary program text). Shared by the line tokenizer, the macro expander
 * and the `#if` evaluator.
 *
 * Spec: C17 §6.4 (preprocessing-token), C++20 [lex.pptoken].
 */
import { ScanFallback } from "../scan-fallback.ts";

/** Token kinds (small integers: compared in the hot loops of expansion and evaluation). */
export const Tk = {
  /** identifier, keyword or macro name. */
  Ident: 1,
  /** pp-number: `42`, `0x1fUL`, `1.5e+3`, `1'000` (C++14 digit separators). */
  Number: 2,
  /** string literal, prefix and quotes included: `"a"`, `u8"b"`, `R"x(c)x"`. */
  String: 3,
  /** character constant, prefix and quotes included: `'a'`, `L'\0'`. */
  Char: 4,
  /** header-name `<a/b.h>` (only lexed after `#include`, `#include_next`, `#import`, `__has_include(`). */
  Header: 5,
  /** punctuator, digraphs normalized (`%:` is `#`, `<:` is `[`). */
  Punct: 6,
  /** any other single non-white character (`@`, `` ` ``, a stray `\`). */
  Other: 7,
  /** a placemarker (C17 §6.10.3.3): only inside macro substitution, never in a result. */
  Placemarker: 8,
} as const;

/** One of {@link Tk}. */
export type TokKind = (typeof Tk)[keyof typeof Tk];

/**
 * A set of macro names a token must not be expanded by again (Prosser's hide set). Shared and never
 * mutated: union and intersection build new sets.
 */
export type HideSet = ReadonlySet<string>;

/**
 * One preprocessing token. Tokens cached with a file's directives are shared between scans and never
 * mutated: the expander copies a token before it changes its hide set or spacing.
 */
export interface Token {
  k: TokKind;
  /** The spelling (digraphs normalized), e.g. `defined`, `0x10`, `"a.h"`, `<stdio.h>`, `##`. */
  t: string;
  /** Preceded by white space or a comment: spacing for `#x` stringizing and computed `<...>` includes. */
  ws: boolean;
  /** Hide set (macro expansion only); absent means empty. */
  hs?: HideSet;
  /**
   * Set on what `__COUNTER__` expands to in a `#if` condition (spelled `__COUNTER__`, kind Number):
   * the counter's value is unknown — program text the scanner never reads advances it too — but its
   * i-th expansion in one condition is the first one's value plus i. The evaluator keeps it symbolic
   * (expr.ts); anything else that meets it (pasting, stringizing, an include name) falls back.
   */
  ctr?: number;
}

/**
 * Throws when a token list holds a `__COUNTER__` value ({@link Token.ctr}) where only its digits would do.
 * @throws {ScanFallback} "unsupported".
 */
export function noCounter(toks: readonly Token[], where: string): void {
  for (const t of toks) if (t.ctr !== undefined) throw new ScanFallback("unsupported", `__COUNTER__ in ${where} is not modelled`);
}

/**
 * Makes a token.
 * @example tok(Tk.Number, "1") // { k: 2, t: "1", ws: false }
 */
export function tok(k: TokKind, t: string, ws = false): Token {
  return { k, t, ws };
}

/**
 * The spelling of a token list with single spaces where the source had white space, as `#x`
 * stringizing and computed `#include <...>` see it (gcc `glue_header_name`, C17 §6.10.3.2).
 * @example spell([tok(Tk.Ident, "a"), tok(Tk.Punct, "+", true), tok(Tk.Ident, "b")]) // "a +b"
 */
export function spell(toks: readonly Token[]): string {
  let s = "";
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.k === Tk.Placemarker) continue;
    if (t.ws && s !== "") s += " ";
    s += t.t;
  }
  return s;
}

/**
 * Is `c` (a char code) a character of an identifier? ASCII letters, digits, `_`, `$` (gcc and clang
 * accept it by default), and any byte ≥ 0x80 (UTF-8 in a latin1-decoded file: extended identifiers).
 */
export function isIdentChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
}

/** Is `c` (a char code) a character that can start an identifier (not a digit)? */
export function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c >= 128;
}

/** Is `c` a decimal digit? */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Horizontal white space inside a line: space, tab, vertical tab, form feed, carriage return. */
export function isHSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}
