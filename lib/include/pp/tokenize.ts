/**
 * The tokenizer of one directive line: turns the text after a directive's name into preprocessing
 * tokens (C17 §6.4), with comments as white space. A header-name `<…>` is one token right after
 * `#include`/`#include_next`/`#import` and after `__has_include(`/`__has_include_next(`, as in gcc
 * and clang; elsewhere `<` is a punctuator (a computed include glues the tokens later).
 *
 * Spec: C17 §6.4, §6.4.7 (header names), §6.4.6 (punctuators and digraphs); C++20 [lex.pptoken].
 */
import { skipBlockComment, skipLiteral, type LexMode } from "./lexer.ts";
import { isDigit, isHSpace, isIdentChar, isIdentStart, Tk, type Token, type TokKind } from "./tokens.ts";

const PUNCT3 = new Set(["...", "<<=", ">>=", "->*", "<=>"]);
const PUNCT2 = new Map<string, string>([
  ["##", "##"], ["->", "->"], ["++", "++"], ["--", "--"], ["<<", "<<"], [">>", ">>"], ["<=", "<="],
  [">=", ">="], ["==", "=="], ["!=", "!="], ["&&", "&&"], ["||", "||"], ["*=", "*="], ["/=", "/="],
  ["%=", "%="], ["+=", "+="], ["-=", "-="], ["&=", "&="], ["^=", "^="], ["|=", "|="], ["::", "::"],
  [".*", ".*"], ["<:", "["], [":>", "]"], ["<%", "{"], ["%>", "}"], ["%:", "#"],
]);
const PUNCT1 = "[](){}.&*+-~!/%<>^|?:;=,#";
const LITERAL_PREFIX = new Set(["L", "u", "U", "u8"]);
const RAW_PREFIX = new Set(["R", "LR", "uR", "UR", "u8R"]);

/**
 * Tokenizes `text[start, end)`, one directive line after its name.
 *
 * @param header lex a leading `<…>` as one header-name token (for `#include` and friends).
 * @returns the tokens; each token's `ws` tells whether white space or a comment preceded it.
 * @example tokenizeLine(" <a/b.h>", 0, 8, mode, true) // [{ k: Tk.Header, t: "<a/b.h>", ws: true }]
 */
export function tokenizeLine(text: string, start: number, end: number, mode: LexMode, header: boolean): Token[] {
  const toks: Token[] = [];
  const hasInclude = !header && text.substring(start, end).includes("__has_include");
  let wantHeader = header;
  let ws = false;
  let i = start;
  const push = (k: TokKind, from: number, to: number) => {
    toks.push({ k, t: text.slice(from, to), ws });
    ws = false;
    i = to;
  };
  while (i < end) {
    const c = text.charCodeAt(i);
    if (isHSpace(c) || c === 10) {
      ws = true;
      i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      i = skipBlockComment(text, i + 2);
      ws = true;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 47) break;
    if (wantHeader && c === 60) {
      const close = text.indexOf(">", i + 1);
      if (close >= 0 && close < end) {
        push(Tk.Header, i, close + 1);
        wantHeader = false;
        continue;
      }
    }
    wantHeader = false;
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < end && isIdentChar(text.charCodeAt(j))) j++;
      const q = text.charCodeAt(j);
      if (q === 34 || q === 39) {
        const prefix = text.slice(i, j);
        if (q === 34 && mode.rawStrings && RAW_PREFIX.has(prefix)) {
          push(Tk.String, i, rawEnd(text, j + 1, end));
          continue;
        }
        if (LITERAL_PREFIX.has(prefix)) {
          push(q === 34 ? Tk.String : Tk.Char, i, Math.min(skipLiteral(text, j + 1, q), end));
          continue;
        }
      }
      push(Tk.Ident, i, j);
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      push(Tk.Number, i, ppNumberEnd(text, i + 1, end, mode.digitSeparators));
      continue;
    }
    if (c === 34 || c === 39) {
      push(c === 34 ? Tk.String : Tk.Char, i, Math.min(skipLiteral(text, i + 1, c), end));
      continue;
    }
    if (text.startsWith("%:%:", i)) {
      toks.push({ k: Tk.Punct, t: "##", ws });
      ws = false;
      i += 4;
      continue;
    }
    const p3 = text.slice(i, i + 3);
    if (i + 3 <= end && PUNCT3.has(p3)) {
      push(Tk.Punct, i, i + 3);
      continue;
    }
    const p2 = i + 2 <= end ? PUNCT2.get(text.slice(i, i + 2)) : undefined;
    if (p2 !== undefined) {
      toks.push({ k: Tk.Punct, t: p2, ws });
      ws = false;
      i += 2;
      continue;
    }
    push(PUNCT1.indexOf(text[i]!) >= 0 ? Tk.Punct : Tk.Other, i, i + 1);
    if (hasInclude && c === 40) checkHasInclude();
  }
  return toks;

  /** After `__has_include (`: the next `<…>` is a header-name. */
  function checkHasInclude(): void {
    const n = toks.length;
    if (n >= 2 && toks[n - 1]!.t === "(" && (toks[n - 2]!.t === "__has_include" || toks[n - 2]!.t === "__has_include_next")) {
      wantHeader = true;
    }
  }
}

/** The end of a pp-number that started just before `i`. */
function ppNumberEnd(text: string, i: number, end: number, separators: boolean): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    const prev = text.charCodeAt(i - 1);
    if ((c === 43 || c === 45) && (prev === 101 || prev === 69 || prev === 112 || prev === 80)) i++;
    else if (isIdentChar(c) || c === 46) i++;
    else if (c === 39 && separators && i + 1 < end && isIdentChar(text.charCodeAt(i + 1))) i += 2;
    else break;
  }
  return i;
}

/** After `R"` inside a directive line: the end of the raw string (it cannot span lines here). */
function rawEnd(text: string, i: number, end: number): number {
  const open = text.indexOf("(", i);
  if (open < 0 || open >= end) return Math.min(skipLiteral(text, i, 34), end);
  const close = text.indexOf(`)${text.slice(i, open)}"`, open + 1);
  return close < 0 || close >= end ? end : close + (open - i) + 2;
}
