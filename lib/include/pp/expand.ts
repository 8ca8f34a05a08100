/**
 * Macro expansion for directive lines (`#if`/`#elif` conditions and computed `#include`s), after Dave
 * Prosser's hide-set algorithm (the one the C standard's examples were checked against): object-like
 * and function-like macros, argument pre-expansion, `#` stringizing, `##` pasting with placemarkers,
 * `__VA_ARGS__`, GNU named variadics and `, ## __VA_ARGS__` comma elision, `__VA_OPT__`.
 *
 * In a condition (`inIf`), the operators work as in gcc and clang: `defined X` / `defined(X)` is
 * evaluated where it appears in the rescanned stream (also when a macro produced it) and its operand
 * is never expanded; `__has_include(…)` and the `__has_*(…)` queries are evaluated wherever they
 * appear, their operands expanded as the compilers do (a `<…>` or `"…"` operand is taken literally).
 *
 * Spec: C17 §6.10.3.1–§6.10.3.4, §6.10.1; C++20 [cpp.subst] (`__VA_OPT__`); gcc manual "Variadic Macros".
 */
import type { BuiltinKind, Macro } from "./macros.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { addName, collectArgs, intersect, substitute } from "./substitute.ts";
import { noCounter, Tk, type Token } from "./tokens.ts";

/** What the expander asks the scanner for while it expands. */
export interface ExpandHooks {
  /** The token a dynamic builtin (`__LINE__`, `__FILE__`, `__COUNTER__`…) expands to at this point. */
  dynamic(kind: BuiltinKind, name: string): Token;
  /** `__has_include` (next=false) or `__has_include_next` (true) of a `"name"` or `<name>`. */
  hasInclude(next: boolean, angle: boolean, name: string): boolean;
  /** The value of `op(arg)` for a `__has_builtin`-like operator; `arg` is the spelled, expanded operand. */
  query(op: string, arg: string): number;
}

const ONE: Token = { k: Tk.Number, t: "1", ws: false };
const ZERO: Token = { k: Tk.Number, t: "0", ws: false };

/**
 * The macro-table entries one expansion consulted (name → the entry then, undefined if none): its
 * result is the same whenever those entries are the same (and the `__has_*` answers, fixed per
 * compiler probe). Null when another builtin was used (`__has_include`, `__LINE__`…: its value
 * depends on more than the table).
 */
export type Consulted = { names: string[]; macros: (Macro | undefined)[] } | null;

/** Expands macros of one scan's table; see the module comment. Not reentrant across scans. */
export class Expander {
  private names: string[] | null = null;
  private seen: (Macro | undefined)[] = [];
  private pure = true;

  constructor(
    /** The live macro table (changed by the scanner as it runs `#define`/`#undef`). */
    readonly macros: Map<string, Macro>,
    private readonly hooks: ExpandHooks,
  ) {}

  /**
   * Fully macro-expands `input`.
   * @param inIf a `#if`/`#elif` condition: evaluate `defined` and the `__has_*` operators.
   * @throws {ScanFallback} "error" on an unterminated invocation, a wrong argument count, an invalid paste
   *   or a malformed operator; "unsupported" on an operator the scanner does not model.
   */
  expand(input: readonly Token[], inIf: boolean): Token[] {
    return this.run(input, inIf, inIf);
  }

  /** Starts recording which macro-table entries are consulted (see {@link Consulted}). */
  record(): void {
    this.names = [];
    this.seen = [];
    this.pure = true;
  }

  /** Stops recording; returns what was consulted since {@link record}. */
  consulted(): Consulted {
    const names = this.names;
    this.names = null;
    return names !== null && this.pure ? { names, macros: this.seen } : null;
  }

  private lookup(name: string): Macro | undefined {
    const m = this.macros.get(name);
    if (this.names !== null) {
      this.names.push(name);
      this.seen.push(m);
    }
    return m;
  }

  private run(input: readonly Token[], inIf: boolean, top: boolean): Token[] {
    const stack: Token[] = [];
    for (let i = input.length - 1; i >= 0; i--) stack.push(input[i]!);
    const out: Token[] = [];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (t.k !== Tk.Ident) {
        out.push(t);
        continue;
      }
      if (top && t.t === "defined") {
        const v = this.defined(stack);
        out.push(t.ws ? { ...v, ws: true } : v);
        continue;
      }
      const m = this.lookup(t.t);
      if (m === undefined || (t.hs !== undefined && t.hs.has(t.t))) {
        out.push(t);
        continue;
      }
      if (m.builtin !== undefined) {
        const r = this.builtin(m, t, stack, inIf);
        if (r) out.push(r.ws === t.ws ? r : { ...r, ws: t.ws });
        continue;
      }
      if (m.params === null) {
        pushAll(stack, substitute(m, null, addName(t.hs, m.name), t.ws, (a) => this.run(a, inIf, false)));
        continue;
      }
      if (stack.length === 0 || stack[stack.length - 1]!.t !== "(") {
        out.push(t);
        continue;
      }
      const { args, close } = collectArgs(stack, m);
      pushAll(stack, substitute(m, args, addName(intersect(t.hs, close.hs), m.name), t.ws, (a) => this.run(a, inIf, false)));
    }
    return out;
  }

  /** `defined X` or `defined ( X )`, the operand read unexpanded from the stack. */
  private defined(stack: Token[]): Token {
    let t = stack.pop();
    const paren = t?.t === "(";
    if (paren) t = stack.pop();
    if (!t || t.k !== Tk.Ident) throw new ScanFallback("error", `operator "defined" requires an identifier`);
    if (paren && stack.pop()?.t !== ")") throw new ScanFallback("error", `missing ')' after "defined"`);
    return this.lookup(t.t) !== undefined ? ONE : ZERO;
  }

  /** A builtin macro or operator; null when it stays as it is (an operator outside a condition). */
  private builtin(m: Macro, t: Token, stack: Token[], inIf: boolean): Token | null {
    const kind = m.builtin!;
    if (kind !== "query") this.pure = false; // a query's answer is fixed per probe, part of the memo's context
    if (kind !== "has_include" && kind !== "query" && kind !== "unknown") return this.hooks.dynamic(kind, m.name);
    if (!inIf) return t;
    if (kind === "unknown") throw new ScanFallback("unsupported", `operator ${m.name} is not modelled`);
    if (stack.pop()?.t !== "(") throw new ScanFallback("error", `missing '(' after ${m.name}`);
    const operand: Token[] = [];
    for (let depth = 0; ;) {
      const a = stack.pop();
      if (!a) throw new ScanFallback("error", `missing ')' after ${m.name}`);
      if (a.t === "(") depth++;
      else if (a.t === ")" && depth-- === 0) break;
      operand.push(a);
    }
    if (kind === "query") {
      const expanded = this.run(operand, true, false);
      noCounter(expanded, `the operand of ${m.name}`);
      const arg = spellOperand(expanded);
      return { k: Tk.Number, t: String(this.hooks.query(m.name, arg)), ws: false };
    }
    const next = m.name === "__has_include_next";
    const first = operand[0];
    let name: { angle: boolean; name: string } | undefined;
    if (operand.length === 1 && (first!.k === Tk.Header || first!.k === Tk.String)) name = headerOf(first!);
    else {
      const expanded = this.run(operand, true, false);
      noCounter(expanded, `the operand of ${m.name}`);
      name = includeOperand(expanded);
    }
    if (!name) throw new ScanFallback("error", `${m.name} requires a header name`);
    return this.hooks.hasInclude(next, name.angle, name.name) ? ONE : ZERO;
  }
}

/** An `#include`-style operand: a string literal, or `<` … `>` glued with single spaces (gcc `glue_header_name`). */
export function includeOperand(toks: readonly Token[]): { angle: boolean; name: string } | undefined {
  const first = toks[0];
  if (!first) return undefined;
  if (first.k === Tk.String || first.k === Tk.Header) return headerOf(first);
  if (first.t !== "<") return undefined;
  let name = "";
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.t === ">" && t.k === Tk.Punct) return { angle: true, name: utf8(name) };
    if (t.ws && name !== "") name += " ";
    name += t.t;
  }
  return undefined;
}

/** The name inside a header-name `<a.h>` or an (unprefixed) string literal `"a.h"`, taken literally. */
function headerOf(t: Token): { angle: boolean; name: string } | undefined {
  if (t.k === Tk.Header) return { angle: true, name: utf8(t.t.slice(1, -1)) };
  if (t.t.startsWith('"') && t.t.endsWith('"') && t.t.length >= 2) return { angle: false, name: utf8(t.t.slice(1, -1)) };
  return undefined;
}

/** Files are read as latin1 (one char per byte): a non-ASCII file name is UTF-8 to decode. */
function utf8(name: string): string {
  return /[\x80-\xff]/.test(name) ? Buffer.from(name, "latin1").toString("utf8") : name;
}

/** The spelled operand of a `__has_*` query, white space dropped: `gnu :: always_inline` → `gnu::always_inline`. */
function spellOperand(toks: readonly Token[]): string {
  return toks.map((t) => t.t).join("");
}

function pushAll(stack: Token[], toks: readonly Token[]): void {
  for (let i = toks.length - 1; i >= 0; i--) stack.push(toks[i]!);
}
