/**
 * The two token-building operators of macro replacement: `#` (stringizing) and `##` (pasting).
 *
 * Spec: C17 §6.10.3.2 (the `#` operator), §6.10.3.3 (the `##` operator, placemarkers).
 */
import { ScanFallback } from "./scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { Tk, type Token } from "./tokens.ts";

const PASTE_MODE = { rawStrings: true, digitSeparators: true };

/**
 * `a ## b`: the token spelled by both spellings together. A placemarker on either side yields the
 * other operand (two placemarkers yield a placemarker).
 *
 * @throws {ScanFallback} "error" when the result is not one preprocessing token, as gcc and clang
 *   report ("pasting "+" and "-" does not give a valid preprocessing token").
 * @example pasteTokens(tok(Tk.Ident, "a"), tok(Tk.Number, "1")) // { k: Tk.Ident, t: "a1", ws: false }
 */
export function pasteTokens(a: Token, b: Token): Token {
  if (b.k === Tk.Placemarker) return a;
  if (a.k === Tk.Placemarker) return { ...b, ws: a.ws };
  const text = a.t + b.t;
  const toks = tokenizeLine(text, 0, text.length, PASTE_MODE, false);
  if (toks.length !== 1 || toks[0]!.ws) {
    throw new ScanFallback("error", `pasting "${a.t}" and "${b.t}" does not give a valid preprocessing token`);
  }
  return { k: toks[0]!.k, t: toks[0]!.t, ws: a.ws };
}

/**
 * `#x`: a string literal spelling the argument's tokens, one space where white space separated them
 * (none at either end), with `"` and `\` escaped inside string and character literals.
 * @example stringize([tok(Tk.String, '"a\\n"'), tok(Tk.Ident, "b", true)]) // '"\\"a\\\\n\\" b"'
 */
export function stringize(arg: readonly Token[]): string {
  let s = '"';
  let first = true;
  for (const t of arg) {
    if (t.k === Tk.Placemarker) continue;
    if (t.ws && !first) s += " ";
    first = false;
    s += t.k === Tk.String || t.k === Tk.Char ? t.t.replace(/[\\"]/g, "\\$&") : t.t;
  }
  return s + '"';
}
