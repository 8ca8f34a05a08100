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
import { hasProgramText, lineAt, type LexedFile, type LexMode } from "./lexer.ts";
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
  /** Offset of the `#` in {@link ParsedFile.text} ({@link lineOf} gives the line). */
  at: number;
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
  /** Where line continuations were removed (for line numbers). */
  splices: number[];
  /** Offsets of the newlines of `text`, made on first use by {@link lineOf}. */
  newlines?: Uint32Array;
  mode: LexMode;
  dirs: Directive[];
  /** The include guard macro, when the whole file is one `#ifndef GUARD … #endif`. */
  guard?: string;
  /** Set when the conditionals do not balance (`#else` without `#if`, unterminated `#if`): gcc and clang fail. */
  error?: string;
  pragmaOperator: boolean;
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
  let firstRaw = -1;
  const line = (at: number) => lineAt(text, lexed.splices, at, file);
  const file: ParsedFile = { text, splices: lexed.splices, mode, dirs, pragmaOperator: lexed.pragmaOperator };
  for (let r = 0; r < lexed.directives.length; r++) {
    const raw = lexed.directives[r]!;
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
    if (dirs.length === 0) firstRaw = r;
    const d: Directive = { k, at: raw.at, start: raw.start, end: raw.end, next: -1, endif: -1 };
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
        error ??= `line ${line(raw.at)}: #${raw.name} without #if`;
        d.k = Dk.Invalid;
        d.why = `#${raw.name} without #if`;
        continue;
      }
      if (top.sawElse && k !== Dk.Endif) error ??= `line ${line(raw.at)}: #${raw.name} after #else`;
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
  if (open.length > 0) error ??= `line ${line(dirs[open[open.length - 1]!.first]!.at)}: unterminated conditional directive`;
  if (error !== undefined) file.error = error;
  else if (firstRaw >= 0) {
    const guard = detectGuard(file, lexed, firstRaw);
    if (guard !== undefined) file.guard = guard;
  }
  return file;
}

/** The 1-based physical line of a directive. */
export function lineOf(file: ParsedFile, d: Directive): number {
  return lineAt(file.text, file.splices, d.at, file);
}

/** The guard macro if the file is one guarded group (see the module comment); `firstRaw` is the raw index of dirs[0]. */
function detectGuard(file: ParsedFile, lexed: LexedFile, firstRaw: number): string | undefined {
  const dirs = file.dirs;
  const first = dirs[0]!;
  const last = dirs[dirs.length - 1]!;
  if (first.next !== dirs.length - 1 || last.k !== Dk.Endif) return undefined;
  // No program text before the #ifndef or after the #endif (ignored directives do not count).
  const raws = lexed.directives;
  const text = file.text;
  for (let r = 0, from = 0; r <= firstRaw; from = raws[r]!.end, r++) {
    if (hasProgramText(text, from, raws[r]!.at)) return undefined;
  }
  let r = firstRaw;
  while (raws[r]!.at !== last.at) r++;
  for (; r < raws.length; r++) {
    if (hasProgramText(text, raws[r]!.end, r + 1 < raws.length ? raws[r + 1]!.at : text.length)) return undefined;
  }
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
