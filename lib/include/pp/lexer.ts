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
 *   spanning lines, does not count as a token (`/* a *\/ #define X` is a directive), but a line that
 *   starts inside a comment begun after program text is not at its beginning;
 * - a block comment inside a directive line continues the directive past its newlines;
 * - a string or character literal ends at its closing quote or, unterminated, at the end of the line;
 * - raw strings (`R"d(…)d"`, with `u8R`, `uR`, `UR`, `LR`) are skipped whole when `mode.rawStrings`;
 * - with `mode.digitSeparators`, a `'` inside a pp-number (`1'000`) does not start a character constant;
 * - a UTF-8 byte order mark at the start of the file is white space.
 *
 * The scan is driven by one regular expression that jumps from one construct to the next, so the
 * per-character work happens in the engine's compiled code even before the JIT has warmed up.
 *
 * Longer than 250 lines because it is the one place that knows C's lexical rules for skipping text;
 * its helpers (literal, comment, raw-string and pp-number skipping, line numbers) share them.
 *
 * Spec: Goma `client/cxx/include_processor/directive_filter.cc`; reference/goma-protocol.md §5.
 */
import { isHSpace, isIdentChar, isIdentStart } from "./tokens.ts";

/** Lexical options that depend on the language standard in effect (from the predefined macros). */
export interface LexMode {
  /** Raw string literals: C++11 and later; gcc also in gnu C modes (gnu99 and later). */
  rawStrings: boolean;
  /** `'` digit separators inside pp-numbers: C++14 and later, C2x. */
  digitSeparators: boolean;
  /**
   * Trigraphs (`??=` → `#` …) are replaced in translation phase 1: ISO C modes and C++ before C++17, or
   * `-trigraphs`; never in GNU modes or C++17 and later. The compiler probe asks the compiler itself.
   */
  trigraphs?: boolean;
}

/** One directive line found by {@link lexFile}, not yet tokenized. */
export interface RawDirective {
  /** The directive name (`include`, `define`, …); `""` for the null directive `#`; `#` for a `# 12 "f"` line marker. */
  name: string;
  /** Offset in {@link LexedFile.text} of the `#` (see {@link lineAt}). */
  at: number;
  /** Offset just after the name: where the directive's tokens start. */
  start: number;
  /** Offset of the newline (or end of text) that ends the directive. */
  end: number;
}

/** A file reduced to its directives (the unit cached per file version). */
export interface LexedFile {
  /** The file's text with line continuations removed, decoded as latin1 (one char per byte). */
  text: string;
  directives: RawDirective[];
  /** Offsets in `text` where a line continuation was removed (for physical line numbers). */
  splices: number[];
  /** The file uses `_Pragma("once")`, `_Pragma("push_macro…")` or `_Pragma("pop_macro…")` somewhere. */
  pragmaOperator: boolean;
}

const SPLICE = /\\[ \t\f\v\r]*\n/g;
const PRAGMA_OP = /_Pragma\s*\(\s*"\s*(?:once|push_macro|pop_macro)/;
const TRIGRAPHS = /\?\?[=/'()!<>-]/g;
/** C17 §5.2.1.1: the nine trigraph sequences and the character each stands for. */
const TRIGRAPH_CHAR: Record<string, string> = { "=": "#", "(": "[", "/": "\\", ")": "]", "'": "^", "<": "{", "!": "|", ">": "}", "-": "~" };
const COMMON = String.raw`\/\/[^\n]*|\/\*[^*]*(?:\*+[^*/][^*]*)*(?:\*+\/)?|"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"?|'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'?|\n[ \t\f\v\r]*(?:#|%:)`;
/** The next construct: a comment, a literal, a newline before `#`, or (raw mode) a raw string's `R"`. */
const NEXT = new RegExp(COMMON, "g");
const NEXT_RAW = new RegExp(`${COMMON}|(?<![\\w$\\x80-\\xff])(?:u8|[uUL])?R"`, "g");
/** A `#` (or `%:`) first on the first line of the file. */
const FIRST_LINE = /^[ \t\f\v\r]*(?:#|%:)/;
const RAW_DELIM = /([^()\\\s"]{0,16})\(/y;

/**
 * Splits a file into directives. Never fails: malformed text is skipped the way the compilers skip it.
 *
 * @param src the file's bytes decoded as latin1.
 * @example lexFile("#include <a.h>\nint x;\n", { rawStrings: false, digitSeparators: false }).directives[0].name // "include"
 */
export function lexFile(src: string, mode: LexMode): LexedFile {
  const splices: number[] = [];
  // Phase 1 before phase 2: `??/` then a newline is a line continuation. A trigraph is 3 characters for
  // 1 and never spans a line, so line numbers stay those of the file.
  if (mode.trigraphs && src.indexOf("??") >= 0) src = src.replace(TRIGRAPHS, (m) => TRIGRAPH_CHAR[m[2]!]!);
  let text = src;
  if (src.indexOf("\\") >= 0) {
    let removed = 0;
    text = src.replace(SPLICE, (m: string, offset: number) => {
      splices.push(offset - removed);
      removed += m.length;
      return "";
    });
  }
  if (text.startsWith("\xEF\xBB\xBF")) text = `   ${text.slice(3)}`;
  const dirs: RawDirective[] = [];
  const re = mode.rawStrings ? NEXT_RAW : NEXT;
  re.lastIndex = 0;
  const head = FIRST_LINE.exec(text);
  if (head !== null) {
    const hash = head[0].endsWith("#") ? head[0].length - 1 : head[0].length - 2;
    const d = readDirective(text, hash + (text.charCodeAt(hash) === 35 ? 1 : 2), hash);
    dirs.push(d);
    re.lastIndex = d.end;
  }
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const at = m.index;
    const len = m[0].length;
    const first = text.charCodeAt(at);
    if (first === 47) {
      // a comment; one that starts a line may be followed by a directive
      if (text.charCodeAt(at + 1) !== 42) continue;
      const after = skipInlineSpace(text, at + len);
      const c = text.charCodeAt(after);
      if ((c === 35 || (c === 37 && text.charCodeAt(after + 1) === 58)) && blankBefore(text, at)) {
        const d = readDirective(text, after + (c === 35 ? 1 : 2), after);
        dirs.push(d);
        re.lastIndex = d.end;
      }
    } else if (first === 34) {
      // a string literal, already skipped
    } else if (first === 39) {
      if (mode.digitSeparators && at > 0 && isIdentChar(text.charCodeAt(at - 1)) && inPpNumber(text, at)) {
        re.lastIndex = at + 1; // `1'000`: a digit separator, not a character constant
      }
    } else if (text.charCodeAt(at + len - 1) === 34) {
      re.lastIndex = skipRawString(text, at + len); // `R"`, `u8R"`…
    } else {
      // a line whose first token is `#` (or `%:`)
      const hash = text.charCodeAt(at + len - 1) === 35 ? at + len - 1 : at + len - 2;
      const d = readDirective(text, hash + (text.charCodeAt(hash) === 35 ? 1 : 2), hash);
      dirs.push(d);
      re.lastIndex = d.end;
    }
  }
  return {
    text, directives: dirs, splices,
    pragmaOperator: src.indexOf("_Pragma") >= 0 && PRAGMA_OP.test(src),
  };
}

/** Reads one directive whose `#` is at `hash`; `i` is just after the `#` (or `%:`). */
function readDirective(text: string, i: number, hash: number): RawDirective {
  i = skipInlineSpace(text, i);
  let name = "";
  const c = text.charCodeAt(i);
  if (isIdentStart(c)) {
    let j = i + 1;
    while (j < text.length && isIdentChar(text.charCodeAt(j))) j++;
    name = text.slice(i, j);
    i = j;
  } else if (c >= 48 && c <= 57) {
    name = "#"; // GNU line marker `# 12 "file" 1`: tokens start at the number
  }
  const start = i;
  if (name === "include" || name === "include_next" || name === "import") {
    // A header-name `<…>` is one token: `//` or `/*` inside it are not comments.
    const j = skipInlineSpace(text, i);
    if (text.charCodeAt(j) === 60) {
      const close = text.indexOf(">", j + 1);
      const nl = text.indexOf("\n", j + 1);
      if (close >= 0 && (nl < 0 || close < nl)) i = close + 1;
    }
  }
  return { name, at: hash, start, end: findLineEnd(text, i) };
}

/** Skips white space and block comments inside a line (not the newline). */
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
  for (;;) {
    const nl = text.indexOf("\n", i);
    const stop = nl < 0 ? n : nl;
    let j = i;
    // the common case: nothing on the rest of the line can hide or extend a newline
    while (j < stop) {
      const c = text.charCodeAt(j);
      if (c === 47 || c === 34 || c === 39) break;
      j++;
    }
    if (j >= stop) return stop;
    const c = text.charCodeAt(j);
    if (c === 47) {
      const d = text.charCodeAt(j + 1);
      if (d === 47) return stop;
      i = d === 42 ? skipBlockComment(text, j + 2) : j + 1;
    } else {
      i = skipLiteral(text, j + 1, c);
    }
    if (i >= n) return n;
  }
}

/** After `/*`: the offset after the closing `*\/` (or the end of text). @internal */
export function skipBlockComment(text: string, i: number): number {
  const e = text.indexOf("*/", i);
  return e < 0 ? text.length : e + 2;
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

/** Only white space (and comments) between the start of the line and `at`? */
function blankBefore(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (c === 10) return true;
    if (isHSpace(c)) i--;
    else if (c === 47 && text.charCodeAt(i - 1) === 42) {
      const open = text.lastIndexOf("/*", i - 2);
      if (open < 0) return false;
      i = open - 1;
    } else return false;
  }
  return true;
}

/** Is the `'` at `at` inside a pp-number (`0x1'2`)? Walks back to the start of the token. */
function inPpNumber(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (isIdentChar(c) || c === 46 || (c === 39 && i > 0 && isIdentChar(text.charCodeAt(i - 1)))) i--;
    else if ((c === 43 || c === 45) && i > 0 && "eEpP".includes(text[i - 1]!)) i--;
    else break;
  }
  const s = text.charCodeAt(i + 1);
  return (s >= 48 && s <= 57) || (s === 46 && text.charCodeAt(i + 2) >= 48 && text.charCodeAt(i + 2) <= 57);
}

/** After `R"`: the offset after `)delim"`. A malformed delimiter makes it an ordinary literal, as in gcc. */
function skipRawString(text: string, i: number): number {
  RAW_DELIM.lastIndex = i;
  const m = RAW_DELIM.exec(text);
  if (m === null) return skipLiteral(text, i, 34);
  const close = text.indexOf(`)${m[1]}"`, RAW_DELIM.lastIndex);
  return close < 0 ? text.length : close + m[1]!.length + 2;
}

/**
 * Is there program text (anything but white space and comments) in `text[from, to)`? The span must
 * hold no directive. Used for include guards: text outside `#ifndef G … #endif` defeats them.
 */
export function hasProgramText(text: string, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (isHSpace(c) || c === 10) i++;
    else if (c === 47 && text.charCodeAt(i + 1) === 42) i = skipBlockComment(text, i + 2);
    else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      const e = text.indexOf("\n", i);
      i = e < 0 ? to : e;
    } else return true;
  }
  return false;
}

/**
 * The 1-based physical line of offset `at`: newlines before it in `text`, plus the line continuations
 * removed before it. `newlines` caches the offsets of the newlines of `text` (built on first use).
 */
export function lineAt(text: string, splices: readonly number[], at: number, cache: { newlines?: Uint32Array }): number {
  let nl = cache.newlines;
  if (nl === undefined) {
    const list: number[] = [];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) list.push(i);
    nl = cache.newlines = Uint32Array.from(list);
  }
  return 1 + countBelow(nl, at) + countBelow(splices, at + 1);
}

/** How many sorted values are < x. */
function countBelow(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
