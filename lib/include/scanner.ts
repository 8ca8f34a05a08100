/**
 * Runs the directives of one translation unit the way the preprocessor would, and records every file
 * it opens: the source, `-imacros` files, the compiler's implicit pre-include (gcc's stdc-predef.h),
 * `-include` files, every `#include`/`#include_next`/`#import` in a group that is taken, and every file
 * a `__has_include` finds (the remote compiler must find it too, or its answer differs; clang's `-M`
 * lists these, gcc's does not).
 *
 * A file is entered again unless `#pragma once`/`#import` saw it (by device and inode) or its include
 * guard is defined — the guard skip is exactly what evaluating the file would do.
 *
 * Spec: C17 §6.10; gcc libcpp/directives.cc, files.cc (`_cpp_stack_file`); Goma
 * `client/cxx/include_processor/cpp_parser.cc`.
 */
import { Dk, directiveTokens, lineOf, type Directive, type ParsedFile } from "./pp/directives.ts";
import { Expander, includeOperand } from "./pp/expand.ts";
import { evalCondition } from "./pp/expr.ts";
import { builtinValue } from "./pp/builtin-values.ts";
import { recall, remember } from "./pp/cond-memo.ts";
import { MacroTable, parseDefine, type BuiltinKind, type Macro } from "./pp/macros.ts";
import { LookupMemo, resolveInclude, type Found, type Includer } from "./fs/resolve.ts";
import { ScanFallback } from "./scan-fallback.ts";
import type { Origin, ScanSetup, UnitScanner } from "./translation-unit.ts";
import type { ScanCounters } from "./stats.ts";
import { Tk, type Token } from "./pp/tokens.ts";

interface Frame extends Includer {
  out: string;
  lineDelta: number;
  presumed: string;
}

const MAX_DEPTH = 200;
/** `file:line` of a directive, for messages. */
function where(f: Frame, file: ParsedFile, d: Directive): string {
  return `${f.out}:${lineOf(file, d)}`;
}
const KIND_NAME = { [Dk.Include]: "include", [Dk.IncludeNext]: "include_next", [Dk.Import]: "import" } as const;

/** One scan of one translation unit; use once. */
export class Scanner implements UnitScanner {
  /** Normalized absolute path → how it was reached, in the order found (the source first). */
  readonly files = new Map<string, Origin>();
  /** `__has_*` operands the probe had no answer for (answered 0 in this scan). */
  readonly unknownQueries = new Set<string>();
  /** The macro table (translation-unit.ts applies `-D`/`-U` to it). @internal */
  readonly table: MacroTable;
  private readonly macros: Map<string, Macro>;
  private readonly expander: Expander;
  private readonly once = new Set<string>();
  private readonly entered = new Set<string>();
  private readonly stack: Frame[] = [];
  private readonly memo: LookupMemo;
  private readonly counters: ScanCounters;
  /**
   * What besides macros decides a condition's value: the probe (C or C++, char signedness, intmax
   * width, the `__has_*` answers).
   */
  private readonly exprKey: string;
  /**
   * While a `#if`/`#elif` condition is expanded: how many `__COUNTER__`s it has expanded so far (each
   * becomes a symbolic value, {@link Token.ctr}); -1 elsewhere (`#include`, `#line`: not modelled).
   */
  private counterUses = -1;
  /** A `__has_*` query without an answer yet was met (its provisional 0 must not be remembered). */
  private unanswered = false;
  /** The directive being run, and its file (for `__LINE__` and messages). */
  private curFile: ParsedFile | null = null;
  private curDir: Directive | null = null;

  constructor(private readonly s: ScanSetup) {
    this.table = new MacroTable(s.probe, s.caches.macros);
    this.macros = this.table.map;
    this.exprKey = s.probe.id;
    this.memo = new LookupMemo(s.caches.lookups);
    this.counters = s.caches.counters;
    this.expander = new Expander(this.macros, {
      dynamic: (kind) => this.dynamic(kind),
      hasInclude: (next, angle, name) => this.hasInclude(next, angle, name),
      query: (op, arg) => this.query(op, arg),
    });
  }

  /**
   * Looks up a file named on the command line (`-include`, `-imacros`: the cwd first, then the quote
   * chain) or, with `angle`, along the `<…>` chain from its start (the implicit pre-include). @internal
   */
  lookup(name: string, angle: boolean): Found | undefined {
    return resolveInclude(this.s.rules, this.s.search, this.s.cwd, name, angle, false, null, this.memo);
  }

  /** Opens a found file: records it, then runs it unless once-only or guarded. @internal */
  enter(found: Found, origin: Origin, isImport: boolean, isMain = false): void {
    const out = this.s.caches.lookups.normalizedPath(found.fs);
    const prev = this.files.get(out);
    if (prev === undefined || prev.how === "has_include") this.files.set(out, origin);
    const p = this.s.caches.fs.parsedFile(found.fs, this.s.probe.mode, this.s.probe.modeKey);
    if (!p) throw new ScanFallback("io", `cannot read ${out}`);
    if (this.once.has(p.id) || (isImport && this.entered.has(p.id))) {
      this.counters.onceSkips++;
      return;
    }
    if (isImport) this.once.add(p.id);
    if (p.file.guard !== undefined && this.macros.has(p.file.guard)) {
      this.counters.guardSkips++;
      return;
    }
    if (this.stack.length >= MAX_DEPTH) throw new ScanFallback("error", `${out}: #include nested depth ${MAX_DEPTH} exceeds maximum`);
    this.entered.add(p.id);
    const frame: Frame = { ...found, isMain, out, lineDelta: 0, presumed: found.raw };
    this.stack.push(frame);
    this.runFile(frame, p.file, p.id);
    this.stack.pop();
  }

  private runFile(f: Frame, file: ParsedFile, id: string): void {
    if (file.error !== undefined) throw new ScanFallback("error", `${f.out}: ${file.error}`);
    if (file.pragmaOperator) throw new ScanFallback("unsupported", `${f.out}: _Pragma("once"/"push_macro"/"pop_macro") is not modelled`);
    const dirs = file.dirs;
    let i = 0;
    while (i < dirs.length) {
      const d = dirs[i]!;
      this.curFile = file;
      this.curDir = d;
      switch (d.k) {
        case Dk.Include: case Dk.IncludeNext: case Dk.Import:
          this.include(f, file, d);
          break;
        case Dk.Define: {
          const m = (d.macro ??= parseDefine(directiveTokens(file, d), () => where(f, file, d)));
          this.macros.set(m.name, m);
          break;
        }
        case Dk.Undef:
          this.macros.delete(this.nameOf(f, d));
          break;
        case Dk.If: case Dk.Ifdef: case Dk.Ifndef:
          if (!this.cond(f, file, d)) {
            i = this.skip(f, file, d.next);
            continue;
          }
          break;
        case Dk.Elif: case Dk.Elifdef: case Dk.Elifndef: case Dk.Else:
          i = d.endif + 1; // the group before was taken
          continue;
        case Dk.Endif:
          break;
        case Dk.PragmaOnce:
          this.once.add(id);
          break;
        case Dk.PushMacro:
          this.table.push(d.name!);
          break;
        case Dk.PopMacro:
          this.table.pop(d.name!);
          break;
        case Dk.Line:
          this.lineDirective(f, file, d);
          break;
        case Dk.Error:
          throw new ScanFallback("error", `${where(f, file, d)}: #error${file.text.slice(d.start, d.end)}`);
        default:
          throw new ScanFallback(d.why?.endsWith("not modelled") ? "unsupported" : "error", `${where(f, file, d)}: ${d.why}`);
      }
      i++;
    }
  }

  /** After a group not taken: the index to continue at (a taken `#elif`/`#else` group, or after `#endif`). */
  private skip(f: Frame, file: ParsedFile, j: number): number {
    for (;;) {
      const e = file.dirs[j]!;
      this.curFile = file;
      this.curDir = e;
      if (e.k === Dk.Else || e.k === Dk.Endif || this.cond(f, file, e)) return j + 1;
      j = e.next;
    }
  }

  private cond(f: Frame, file: ParsedFile, d: Directive): boolean {
    switch (d.k) {
      case Dk.If: case Dk.Elif:
        return this.evalIf(file, d);
      case Dk.Ifdef: case Dk.Elifdef:
        return this.macros.has(this.nameOf(f, d));
      default:
        return !this.macros.has(this.nameOf(f, d));
    }
  }

  /** A `#if`/`#elif` condition, reused from an earlier scan when possible (pp/cond-memo.ts). */
  private evalIf(file: ParsedFile, d: Directive): boolean {
    const known = recall(d, this.macros, this.exprKey);
    if (known !== undefined) this.counters.condHits++;
    if (known !== undefined) return known;
    this.expander.record();
    this.unanswered = false;
    this.counterUses = 0;
    let expanded: Token[];
    try {
      expanded = this.expander.expand(directiveTokens(file, d), true);
    } finally {
      this.counterUses = -1;
    }
    const value = evalCondition(expanded, this.s.probe.expr);
    const used = this.expander.consulted();
    if (!this.unanswered) remember(d, this.exprKey, used, value);
    return value;
  }

  private nameOf(f: Frame, d: Directive): string {
    if (d.name === undefined) throw new ScanFallback("error", `${where(f, this.curFile!, d)}: ${d.why ?? "macro name missing"}`);
    return d.name;
  }

  private include(f: Frame, file: ParsedFile, d: Directive): void {
    const toks = directiveTokens(file, d);
    const first = toks[0];
    const direct = first !== undefined && (first.k === Tk.Header || first.k === Tk.String);
    const op = includeOperand(direct ? [first] : this.expander.expand(toks, false));
    if (!op || op.name === "") throw new ScanFallback("error", `${where(f, file, d)}: #include expects "FILENAME" or <FILENAME>`);
    const found = resolveInclude(this.s.rules, this.s.search, this.s.cwd, op.name, op.angle, d.k === Dk.IncludeNext, f, this.memo);
    if (!found) {
      const shown = op.angle ? `<${op.name}>` : `"${op.name}"`;
      throw new ScanFallback("error", `${where(f, file, d)}: ${shown}: No such file or directory`);
    }
    this.enter(found, { how: KIND_NAME[d.k as 1 | 2 | 3], from: f.out, line: this.s.lines ? lineOf(file, d) : undefined }, d.k === Dk.Import);
  }

  private hasInclude(next: boolean, angle: boolean, name: string): boolean {
    const f = this.stack[this.stack.length - 1] ?? null;
    const found = resolveInclude(this.s.rules, this.s.search, this.s.cwd, name, angle, next, f, this.memo);
    if (!found) return false;
    const out = this.s.caches.lookups.normalizedPath(found.fs);
    if (!this.files.has(out)) this.files.set(out, { how: "has_include", from: f?.out, line: this.s.lines ? this.curLine() : undefined });
    return true;
  }

  private query(op: string, arg: string): number {
    const key = `${op}(${arg})`;
    const v = this.s.probe.answers.get(key);
    if (v === undefined) {
      this.unknownQueries.add(key);
      this.unanswered = true;
      return 0;
    }
    if (Number.isNaN(v)) throw new ScanFallback("error", `${key}: the compiler reports an error`);
    return v;
  }

  private dynamic(kind: BuiltinKind): Token {
    if (kind === "__COUNTER__" && this.counterUses >= 0) return { k: Tk.Number, t: "__COUNTER__", ws: false, ctr: this.counterUses++ };
    const f = this.stack[this.stack.length - 1];
    return builtinValue(kind, {
      line: kind === "__LINE__" ? this.curLine() + (f?.lineDelta ?? 0) : 0,
      file: f?.presumed ?? this.s.input, base: this.s.input, depth: Math.max(0, this.stack.length - 1),
    });
  }

  private curLine(): number {
    return this.curFile !== null && this.curDir !== null ? lineOf(this.curFile, this.curDir) : 0;
  }

  private lineDirective(f: Frame, file: ParsedFile, d: Directive): void {
    const t = this.expander.expand(directiveTokens(file, d), false);
    if (t[0]?.k !== Tk.Number || !/^\d+$/.test(t[0].t)) throw new ScanFallback("error", `${where(f, file, d)}: #line requires a positive integer`);
    f.lineDelta = Number(t[0].t) - (lineOf(file, d) + 1);
    if (t[1]?.k === Tk.String) f.presumed = t[1].t.slice(1, -1);
  }
}
