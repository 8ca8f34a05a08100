/**
 * From a lexed file to the directive list the scanner runs: only the directives that can change which
 * files are read (includes, macro definitions, conditionals, `#pragma once`, `push_macro`/`pop_macro`,
 * `#line`, and `#error`), each conditional linked to its next branch and its `#endif` so a group not
 * taken is skipped in one step, and the include guard detected the way gcc's multiple-include
 * optimization does: the first directive is `#ifndef X` (or `#if !defined X`), its `#endif` is the
 * last directive, it has no `#else`/`#elif`, and no program text lies outside it. Skipping such a file
 * when X is defined is exactly what evaluating it would do.
 *
 * Spec: Goma `cpp_directive_parser.cc`, `include_guard_detector.cc`; gcc manual "Once-Only Headers".
 */
import { type LexedFile, type LexMode } from "./lexer.ts";
import type { Macro } from "./macros.ts";
import { tokenizeLine } from "./tokenize.ts";
import { Tk, type Token } from "./tokens.ts";

/** Directive kinds the scanner acts on. */
export const Dk = {
  Include: 1, IncludeNext: 2, Import: 3, Define: 4, Undef: 5,
  If: 6, Ifdef: 7, Ifndef: 8, Elif: 9, Elifdef: 10, Elifndef: 11, Else: 12, Endif: 13,
  PragmaOnce: 14, PushMacro: 15, PopMacro: 16, Line: 17, Error: 18,
  /** A directive the compiler would reject, or one the scanner does not model (`#embed`). */
  Invalid: 19,
} as const;

/** One of {@link Dk}. */
export type DirKind = (typeof Dk)[keyof typeof Dk];

/** One directive of a file (shared between scans; only its lazily made `toks` is ever filled in). */
export interface Directive {
  k: DirKind;
  /** 1-based physical line of the `#`. */
  line: number;
  /** The directive's text range in {@link ParsedFile.text} (after the name). */
  start: number;
  end: number;
  /** The macro name of `#ifdef`, `#ifndef`, `#elifdef`, `#elifndef`, `#undef`, `push_macro`, `pop_macro`. */
  name?: string;
  /** Conditionals: index of the next `#elif`/`#else`/`#endif` of the same `#if`. */
  next: number;
  /** Conditionals: index of the `#endif` that closes the group. */
  endif: number;
  /** What is wrong or unsupported (Invalid, Error). */
  why?: string;
  /** The tokens after the name, made on first use ({@link directiveTokens}). */
  toks?: Token[];
  /** `#define`: the macro, parsed on first use. */
  macro?: Macro;
  /** `#if`/`#elif`: recent values, each with the macro-table entries it depended on (newest last). */
  memo?: { ctx: string; names: string[]; macros: (Macro | undefined)[]; value: boolean }[];
}

/** A file ready for the scanner. */
export interface ParsedFile {
  text: string;
  mode: LexMode;
  dirs: Directive[];
  /** The include guard macro, when the whole file is one `#ifndef GUARD … #endif`. */
  guard?: string;
  /** Set when the conditionals do not balance (`#else` without `#if`, unterminated `#if`): gcc and clang fail. */
  error?: string;
  pragmaOperator: boolean;
  trigraphs: boolean;
}

const SIMPLE: Record<string, DirKind> = {
  include: Dk.Include, include_next: Dk.IncludeNext, import: Dk.Import, define: Dk.Define, undef: Dk.Undef,
  if: Dk.If, ifdef: Dk.Ifdef, ifndef: Dk.Ifndef, elif: Dk.Elif, elifdef: Dk.Elifdef, elifndef: Dk.Elifndef,
  else: Dk.Else, endif: Dk.Endif, line: Dk.Line, "#": Dk.Line, error: Dk.Error,
};
/** Directives both compilers accept that cannot change the inputs. */
const IGNORED = new Set(["", "warning", "ident", "sccs", "assert", "unassert"]);
const NAMED = new Set<DirKind>([Dk.Ifdef, Dk.Ifndef, Dk.Elifdef, Dk.Elifndef, Dk.Undef]);
const PRAGMA_MACRO = /^\s*(push_macro|pop_macro)\s*\(\s*"([^"]*)"\s*\)/;

/**
 * Builds the directive list of a lexed file.
 * @example parseDirectives(lexFile("#ifndef A\n#define A\n#endif\n", mode), mode).guard // "A"
 */
export function parseDirectives(lexed: LexedFile, mode: LexMode): ParsedFile {
  const text = lexed.text;
  const dirs: Directive[] = [];
  const open: { first: number; last: number; sawElse: boolean }[] = [];
  let error: string | undefined;
  let firstTextBefore = false;
  for (const raw of lexed.directives) {
    let k = SIMPLE[raw.name];
    let name: string | undefined;
    let why: string | undefined;
    if (k === undefined) {
      if (IGNORED.has(raw.name)) continue;
      if (raw.name === "pragma") {
        const body = text.slice(raw.start, raw.end);
        const m = PRAGMA_MACRO.exec(body);
        if (/^\s*once\b/.test(body)) k = Dk.PragmaOnce;
        else if (m) {
          k = m[1] === "push_macro" ? Dk.PushMacro : Dk.PopMacro;
          name = m[2];
        } else if (/^\s*GCC\s+dependency\b/.test(body)) {
          k = Dk.Invalid;
          why = "#pragma GCC dependency is not modelled";
        } else continue;
      } else {
        k = Dk.Invalid;
        why = raw.name === "embed" ? "#embed is not modelled" : `invalid preprocessing directive #${raw.name}`;
      }
    }
    if (dirs.length === 0) firstTextBefore = raw.textBefore;
    const d: Directive = { k, line: raw.line, start: raw.start, end: raw.end, next: -1, endif: -1 };
    if (why !== undefined) d.why = why;
    if (name !== undefined) d.name = name;
    if (NAMED.has(k)) {
      const id = /^\s*([A-Za-z_$\x80-\xff][\w$\x80-\xff]*)/.exec(text.slice(raw.start, raw.end));
      if (id) d.name = id[1];
      else d.why = `#${raw.name} requires an identifier`;
    }
    const idx = dirs.length;
    dirs.push(d);
    if (k === Dk.If || k === Dk.Ifdef || k === Dk.Ifndef) {
      open.push({ first: idx, last: idx, sawElse: false });
    } else if (k === Dk.Elif || k === Dk.Elifdef || k === Dk.Elifndef || k === Dk.Else || k === Dk.Endif) {
      const top = open[open.length - 1];
      if (!top) {
        error ??= `line ${raw.line}: #${raw.name} without #if`;
        d.k = Dk.Invalid;
        d.why = `#${raw.name} without #if`;
        continue;
      }
      if (top.sawElse && k !== Dk.Endif) error ??= `line ${raw.line}: #${raw.name} after #else`;
      dirs[top.last]!.next = idx;
      top.last = idx;
      if (k === Dk.Else) top.sawElse = true;
      if (k === Dk.Endif) {
        open.pop();
        for (let j = top.first; j !== idx; j = dirs[j]!.next) dirs[j]!.endif = idx;
        d.endif = idx;
      }
    }
  }
  if (open.length > 0) error ??= `line ${dirs[open[open.length - 1]!.first]!.line}: unterminated conditional directive`;
  const file: ParsedFile = { text, mode, dirs, pragmaOperator: lexed.pragmaOperator, trigraphs: lexed.trigraphs };
  if (error !== undefined) file.error = error;
  else {
    const guard = detectGuard(file, firstTextBefore, lexed.textAfter);
    if (guard !== undefined) file.guard = guard;
  }
  return file;
}

/** The guard macro if the file is one guarded group (see the module comment). */
function detectGuard(file: ParsedFile, textBefore: boolean, textAfter: boolean): string | undefined {
  const dirs = file.dirs;
  const first = dirs[0];
  if (!first || textBefore || textAfter || first.next !== dirs.length - 1 || dirs[dirs.length - 1]!.k !== Dk.Endif) return undefined;
  if (first.k === Dk.Ifndef) return first.why === undefined ? first.name : undefined;
  if (first.k !== Dk.If) return undefined;
  const t = directiveTokens(file, first);
  // `#if !defined X` or `#if !defined ( X )`
  if (t[0]?.t !== "!" || t[1]?.t !== "defined") return undefined;
  if (t.length === 3 && t[2]!.k === Tk.Ident) return t[2]!.t;
  if (t.length === 5 && t[2]!.t === "(" && t[3]!.k === Tk.Ident && t[4]!.t === ")") return t[3]!.t;
  return undefined;
}

/** The tokens of a directive after its name (tokenized on first use, then kept). */
export function directiveTokens(file: ParsedFile, d: Directive): Token[] {
  if (d.toks === undefined) {
    const header = d.k === Dk.Include || d.k === Dk.IncludeNext || d.k === Dk.Import;
    d.toks = tokenizeLine(file.text, d.start, d.end, file.mode, header);
  }
  return d.toks;
}
