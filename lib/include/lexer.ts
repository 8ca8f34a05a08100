/**
 * The directive filter: one pass over a source file that finds its preprocessing directives and
 * skips everything else — comments, string and character literals, raw strings, pp-numbers with
 * digit separators and line continuations — exactly as the translation phases 1–4 would (C17 §5.1.1.2).
 * The tokens of a directive line are made later, on first use (tokenize.ts): most directives of a
 * system header sit in groups that are never taken.
 *
 * Rules mirrored (checked against gcc 12 and clang 14):
 * - a backslash, optional horizontal white space and a newline are deleted first (both compilers
 *   accept the white space, with a warning);
 * - a directive starts with `#` (or `%:`) as the first token of a line; a comment before it, even one
 *   spanning lines, does not count as a token (`/* a *\/ #define X` is a directive);
 * - a block comment inside a directive line continues the directive past its newlines;
 * - a string or character literal ends at its closing quote or, unterminated, at the end of the line;
 * - raw strings (`R"d(…)d"`, with `u8R`, `uR`, `UR`, `LR`) are skipped whole when `mode.rawStrings`;
 * - a UTF-8 byte order mark at the start of the file is white space.
 *
 * Spec: Goma `client/cxx/include_processor/directive_filter.cc`; reference/goma-protocol.md §5.
 */
import { isDigit, isHSpace, isIdentChar, isIdentStart } from "./tokens.ts";

/** Lexical options that depend on the language standard in effect (from the predefined macros). */
export interface LexMode {
  /** Raw string literals: C++11 and later; gcc also in gnu C modes (gnu99 and later). */
  rawStrings: boolean;
  /** `'` digit separators inside pp-numbers: C++14 and later, C2x. */
  digitSeparators: boolean;
}

/** One directive line found by {@link lexFile}, not yet tokenized. */
export interface RawDirective {
  /** The directive name (`include`, `define`, …); `""` for the null directive `#`; `#` for a `# 12 "f"` line marker. */
  name: string;
  /** Offset in {@link LexedFile.text} just after the name: where the directive's tokens start. */
  start: number;
  /** Offset in {@link LexedFile.text} of the newline (or end of text) that ends the directive. */
  end: number;
  /** 1-based physical line of the `#`. */
  line: number;
  /** Program text (not white space or comments) occurs between the previous directive (or the start) and this one. */
  textBefore: boolean;
}

/** A file reduced to its directives (the unit cached per file version). */
export interface LexedFile {
  /** The file's text with line continuations removed, decoded as latin1 (one char per byte). */
  text: string;
  directives: RawDirective[];
  /** Program text follows the last directive. */
  textAfter: boolean;
  /** The file uses `_Pragma("once")`, `_Pragma("push_macro…")` or `_Pragma("pop_macro…")` somewhere. */
  pragmaOperator: boolean;
  /** The file contains a trigraph sequence (`??=`, `??/`, …), which means something only with -trigraphs. */
  trigraphs: boolean;
}

const SPLICE = /\\[ \t\f\v\r]*\n/g;
const PRAGMA_OP = /_Pragma\s*\(\s*"\s*(?:once|push_macro|pop_macro)/;
const TRIGRAPH = /\?\?[=/'()!<>-]/;

/**
 * Splits a file into directives. Never fails: malformed text is skipped the way the compilers skip it.
 *
 * @param src the file's bytes decoded as latin1.
 * @example lexFile("#include <a.h>\nint x;\n", { rawStrings: false, digitSeparators: false }).directives[0].name // "include"
 */
export function lexFile(src: string, mode: LexMode): LexedFile {
  const splices: number[] = [];
  let text = src;
  if (src.indexOf("\\") >= 0) {
    let removed = 0;
    text = src.replace(SPLICE, (m: string, offset: number) => {
      splices.push(offset - removed);
      removed += m.length;
      return "";
    });
  }
  const n = text.length;
  const dirs: RawDirective[] = [];
  let i = text.startsWith("\xEF\xBB\xBF") ? 3 : 0;
  let bol = true;
  let textSince = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      bol = true;
      i++;
    } else if (isHSpace(c)) {
      i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      i = skipBlockComment(text, i + 2);
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      i = skipToNewline(text, i + 2);
    } else if (bol && (c === 35 || (c === 37 && text.charCodeAt(i + 1) === 58))) {
      const d = readDirective(text, c === 35 ? i + 1 : i + 2, i, textSince);
      dirs.push(d);
      textSince = false;
      i = d.end;
    } else {
      bol = false;
      textSince = true;
      if (c === 34 || c === 39) {
        i = skipLiteral(text, i + 1, c);
      } else if (isIdentStart(c)) {
        let j = i + 1;
        while (j < n && isIdentChar(text.charCodeAt(j))) j++;
        if (mode.rawStrings && text.charCodeAt(j) === 34 && text.charCodeAt(j - 1) === 82 && isRawPrefix(text, i, j)) {
          i = skipRawString(text, j + 1);
        } else {
          i = j;
        }
      } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
        i = skipPpNumber(text, i + 1, mode.digitSeparators);
      } else {
        i++;
      }
    }
  }
  assignLines(text, dirs, splices);
  return {
    text, directives: dirs, textAfter: textSince,
    pragmaOperator: src.indexOf("_Pragma") >= 0 && PRAGMA_OP.test(src),
    trigraphs: src.indexOf("??") >= 0 && TRIGRAPH.test(src),
  };
}

/** Reads one directive whose `#` is at `hash`; `i` is just after the `#`. */
function readDirective(text: string, i: number, hash: number, textBefore: boolean): RawDirective {
  i = skipInlineSpace(text, i);
  let name = "";
  const c = text.charCodeAt(i);
  if (isIdentStart(c)) {
    let j = i + 1;
    while (j < text.length && isIdentChar(text.charCodeAt(j))) j++;
    name = text.slice(i, j);
    i = j;
  } else if (isDigit(c)) {
    name = "#"; // GNU line marker `# 12 "file" 1`: tokens start at the number
  }
  const start = i;
  if (name === "include" || name === "include_next" || name === "import") {
    // A header-name `<…>` is one token: `//` or `/*` inside it are not comments.
    const j = skipInlineSpace(text, i);
    if (text.charCodeAt(j) === 60) {
      let k = j + 1;
      while (k < text.length && text.charCodeAt(k) !== 62 && text.charCodeAt(k) !== 10) k++;
      i = k;
    }
  }
  return { name, start, end: findLineEnd(text, i), line: hash, textBefore };
}

/** Skips white space and block comments inside a directive line (not the newline). */
function skipInlineSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (isHSpace(c)) i++;
    else if (c === 47 && text.charCodeAt(i + 1) === 42) i = skipBlockComment(text, i + 2);
    else return i;
  }
}

/** The offset of the newline ending the directive line that contains `i` (block comments continue it). */
function findLineEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) return i;
    if (c === 47) {
      const d = text.charCodeAt(i + 1);
      if (d === 42) {
        i = skipBlockComment(text, i + 2);
        continue;
      }
      if (d === 47) return skipToNewline(text, i + 2);
    }
    if (c === 34 || c === 39) i = skipLiteral(text, i + 1, c);
    else i++;
  }
  return n;
}

/** After `/*`: the offset after the closing `*\/` (or the end of text). @internal */
export function skipBlockComment(text: string, i: number): number {
  const e = text.indexOf("*/", i);
  return e < 0 ? text.length : e + 2;
}

/** The offset of the next newline (or the end of text). @internal */
export function skipToNewline(text: string, i: number): number {
  const e = text.indexOf("\n", i);
  return e < 0 ? text.length : e;
}

/** After an opening quote `q`: the offset after the closing quote, or of the newline ending an unterminated literal. @internal */
export function skipLiteral(text: string, i: number, q: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === q) return i + 1;
    if (c === 10) return i;
    i += c === 92 ? 2 : 1;
  }
  return n;
}

/** Is text[from, to) a raw string prefix (`R`, `u8R`, `uR`, `UR`, `LR`)? */
function isRawPrefix(text: string, from: number, to: number): boolean {
  const len = to - from;
  if (len === 1) return true;
  const p = text.slice(from, to - 1);
  return p === "u8" || p === "u" || p === "U" || p === "L";
}

/** After `R"`: the offset after `)delim"`. A malformed delimiter makes it an ordinary literal, as in gcc. */
function skipRawString(text: string, i: number): number {
  const open = text.indexOf("(", i);
  if (open < 0 || open - i > 16 || /[\s\\)"]/.test(text.slice(i, open))) return skipLiteral(text, i, 34);
  const close = text.indexOf(`)${text.slice(i, open)}"`, open + 1);
  return close < 0 ? text.length : close + (open - i) + 2;
}

/** After the first character of a pp-number: the offset after it (C17 §6.4.8, C++14 digit separators). */
function skipPpNumber(text: string, i: number, separators: boolean): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if ((c === 43 || c === 45) && isExponent(text.charCodeAt(i - 1))) i++;
    else if (isIdentChar(c) || c === 46) i++;
    else if (c === 39 && separators && isIdentChar(text.charCodeAt(i + 1))) i += 2;
    else return i;
  }
  return n;
}

/** `e`, `E`, `p` or `P`: may be followed by a sign inside a pp-number. */
function isExponent(c: number): boolean {
  return c === 101 || c === 69 || c === 112 || c === 80;
}

/** Replaces each directive's `line` (set to the offset of its `#`) by its 1-based physical line. */
function assignLines(text: string, dirs: RawDirective[], splices: readonly number[]): void {
  let line = 1;
  let pos = 0;
  let s = 0;
  for (const d of dirs) {
    const at = d.line;
    for (;;) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0 || nl >= at) break;
      line++;
      pos = nl + 1;
    }
    while (s < splices.length && splices[s]! <= at) s++;
    d.line = line + s;
  }
}
