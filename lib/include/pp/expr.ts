/**
 * The `#if` expression evaluator: integer constant expressions over fully macro-expanded tokens, with
 * the arithmetic of C17 §6.10.1p4 — every signed value is an `intmax_t`, every unsigned one a
 * `uintmax_t` (64 bits unless `__INTMAX_WIDTH__` says otherwise), the usual arithmetic conversions make
 * a mixed operation unsigned, signed overflow wraps (gcc and clang warn and wrap), `/` and `%` by zero
 * are errors only when evaluated (`0 && 1/0` is fine), and shifts follow gcc (`x << -n` is `x >> n`, a
 * count ≥ the width gives 0, or -1 for a negative value shifted right).
 *
 * Literals: decimal, octal, hex and binary integers with `u`/`l`/`ll`/`z`/`wb` suffixes and digit
 * separators; a decimal or hex/octal literal above `INTMAX_MAX` is unsigned, as gcc makes it; character
 * constants with every escape, prefixes `L`/`u`/`U`/`u8`, multi-character constants (gcc's value) and
 * `__CHAR_UNSIGNED__`. In C++, `true`/`false` and the alternative tokens (`and`, `not`, …) work.
 * Any identifier left is 0.
 *
 * `__COUNTER__` (a token with `ctr` set, see tokens.ts) is `n + i` for its i-th expansion in the
 * condition, with n unknown (0 ≤ n < 2^32: gcc's counter is an unsigned int; what program text the
 * scanner never reads expanded decides it). Values stay symbolic, `a·n + v`, through `+`, `-`, unary
 * `+`/`-`, `*` by a constant and `?:` with a known condition; a comparison of two of them with the same
 * `a` is known (`==`/`!=` always, since n cancels even when they wrap; `<`… when signed and far from
 * overflow): benchmark.h's `__COUNTER__ + 1 == __COUNTER__ + 0` is 1 whatever n is. Anything whose value
 * still depends on n (`__COUNTER__ == 0`, `!__COUNTER__`, a truth value) is "unsupported".
 *
 * This file is longer than 250 lines because it is one grammar: splitting literals from operators
 * would only add an interface between two halves that never change apart.
 *
 * Spec: C17 §6.10.1, §6.4.4.1, §6.4.4.4, §6.3.1.8; gcc libcpp/expr.cc (`reduce`, `num_lshift`,
 * `cpp_interpret_charconst`).
 */
import { evalFast } from "./expr-fast.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { Tk, type Token } from "./tokens.ts";

/** Target facts that change the value of a condition. */
export interface ExprOptions {
  /** C++: `true`, `false` and the alternative tokens are operators. */
  cxx: boolean;
  /** `char` is unsigned (`__CHAR_UNSIGNED__`): plain character constants do not sign-extend. */
  charUnsigned: boolean;
  /** Width of intmax_t in bits (`__INTMAX_WIDTH__`), normally 64. */
  intmaxBits: number;
}

/** A value of the evaluator: `u` marks uintmax_t; `a`, when set and non-zero, makes it `a·n + v` (n: `__COUNTER__`'s unknown base). */
interface Val {
  v: bigint;
  u: boolean;
  a?: bigint;
}

/** Bounds within which `a·n + v` (0 ≤ n < 2^32) cannot overflow intmax_t: ordering of two such values is then that of v. */
const SYM_A_MAX = 1n << 20n;
const SYM_V_MAX = 1n << 40n;

/** Does the value depend on `__COUNTER__`'s unknown base? */
function sym(x: Val): boolean {
  return x.a !== undefined && x.a !== 0n;
}

function dependsOnCounter(what: string): never {
  throw new ScanFallback("unsupported", `__COUNTER__ in a directive: ${what} depends on the counter's value, which is not modelled`);
}

const ALT: Record<string, string> = {
  and: "&&", or: "||", not: "!", bitand: "&", bitor: "|", xor: "^", compl: "~", not_eq: "!=",
};

const BINARY_PREC: Record<string, number> = {
  "*": 10, "/": 10, "%": 10, "+": 9, "-": 9, "<<": 8, ">>": 8, "<": 7, ">": 7, "<=": 7, ">=": 7,
  "==": 6, "!=": 6, "&": 5, "^": 4, "|": 3, "&&": 2, "||": 1,
};

/**
 * Evaluates a `#if`/`#elif` condition.
 *
 * @param toks the condition after macro expansion (`defined` and `__has_*` already replaced by 0/1).
 * @returns whether the group is taken (the value is non-zero).
 * @throws {ScanFallback} "error" for what gcc reports as an error (no expression, missing operand or
 *   parenthesis, a string, a floating constant, division by zero, a bad literal); "unsupported" for
 *   GNU assertions (`#if #cpu(x86)`).
 * @example evalCondition(tokens("-1 < 0u"), { cxx: false, charUnsigned: false, intmaxBits: 64 }) // false
 */
export function evalCondition(toks: readonly Token[], opts: ExprOptions): boolean {
  if (toks.length === 0) throw new ScanFallback("error", "#if with no expression");
  const fast = evalFast(toks, opts.cxx);
  if (fast !== undefined) return fast !== 0;
  const p = new Parser(toks, opts);
  const v = p.comma(false);
  if (p.pos < toks.length) throw new ScanFallback("error", `missing binary operator before token "${toks[p.pos]!.t}"`);
  if (sym(v)) dependsOnCounter("the condition");
  return v.v !== 0n;
}

/**
 * The BigInt evaluator alone, returning the value (signed or unsigned as intmax_t/uintmax_t).
 * @throws {ScanFallback} as {@link evalCondition}.
 * @internal exported to check the fast path against it.
 */
export function evalValue(toks: readonly Token[], opts: ExprOptions): { v: bigint; u: boolean } {
  if (toks.length === 0) throw new ScanFallback("error", "#if with no expression");
  const p = new Parser(toks, opts);
  const v = p.comma(false);
  if (p.pos < toks.length) throw new ScanFallback("error", `missing binary operator before token "${toks[p.pos]!.t}"`);
  if (sym(v)) dependsOnCounter("the value");
  return { v: v.v, u: v.u };
}

class Parser {
  pos = 0;
  private readonly bits: bigint;
  private readonly max: bigint;

  constructor(private readonly toks: readonly Token[], private readonly opts: ExprOptions) {
    this.bits = BigInt(opts.intmaxBits);
    this.max = (1n << (this.bits - 1n)) - 1n;
  }

  /** The operator spelling of the next token (alternative tokens mapped in C++), or "". */
  private peekOp(): string {
    const t = this.toks[this.pos];
    if (!t) return "";
    if (t.k === Tk.Punct) return t.t;
    if (t.k === Tk.Ident && this.opts.cxx) return ALT[t.t] ?? "";
    return "";
  }

  comma(skip: boolean): Val {
    let v = this.cond(skip);
    while (this.peekOp() === ",") {
      this.pos++;
      v = this.cond(skip);
    }
    return v;
  }

  private cond(skip: boolean): Val {
    const c = this.binary(1, skip);
    if (this.peekOp() !== "?") return c;
    this.pos++;
    if (!skip && sym(c)) dependsOnCounter("a ?: condition");
    const taken = c.v !== 0n;
    const a = this.comma(skip || !taken);
    if (this.peekOp() !== ":") throw new ScanFallback("error", "'?' without following ':'");
    this.pos++;
    const b = this.cond(skip || taken);
    const u = a.u || b.u;
    const r = taken ? a : b;
    const out = this.norm(r.v, u);
    return skip || !sym(r) ? out : { ...out, a: r.a };
  }

  /** Precedence climbing over the binary operators of at least `minPrec`. */
  private binary(minPrec: number, skip: boolean): Val {
    let lhs = this.unary(skip);
    for (;;) {
      const op = this.peekOp();
      const prec = BINARY_PREC[op];
      if (prec === undefined || prec < minPrec) return lhs;
      this.pos++;
      if (op === "&&" || op === "||") {
        if (!skip && sym(lhs)) dependsOnCounter(`an operand of ${op}`);
        const short = op === "&&" ? lhs.v === 0n : lhs.v !== 0n;
        const rhs = this.binary(prec + 1, skip || short);
        if (!skip && !short && sym(rhs)) dependsOnCounter(`an operand of ${op}`);
        lhs = { v: (op === "&&" ? !short && rhs.v !== 0n : short || rhs.v !== 0n) ? 1n : 0n, u: false };
        continue;
      }
      const rhs = this.binary(prec + 1, skip);
      lhs = this.apply(op, lhs, rhs, skip);
    }
  }

  private apply(op: string, a: Val, b: Val, skip: boolean): Val {
    if (sym(a) || sym(b)) return this.applySym(op, a, b, skip);
    const u = a.u || b.u;
    const x = u ? BigInt.asUintN(this.opts.intmaxBits, a.v) : a.v;
    const y = u ? BigInt.asUintN(this.opts.intmaxBits, b.v) : b.v;
    switch (op) {
      case "*": return this.norm(x * y, u);
      case "/":
      case "%":
        if (y === 0n) {
          if (skip) return { v: 0n, u };
          throw new ScanFallback("error", "division by zero in #if");
        }
        return this.norm(op === "/" ? x / y : x % y, u);
      case "+": return this.norm(x + y, u);
      case "-": return this.norm(x - y, u);
      case "<<": case ">>": return this.shift(op === "<<", a, b);
      case "<": return bool(x < y);
      case ">": return bool(x > y);
      case "<=": return bool(x <= y);
      case ">=": return bool(x >= y);
      case "==": return bool(x === y);
      case "!=": return bool(x !== y);
      case "&": return this.norm(x & y, u);
      case "^": return this.norm(x ^ y, u);
      case "|": return this.norm(x | y, u);
    }
    throw new ScanFallback("error", `unexpected operator "${op}" in #if`);
  }

  /** A binary operator with a `__COUNTER__`-dependent operand: exact where n cancels, else unsupported. */
  private applySym(op: string, a: Val, b: Val, skip: boolean): Val {
    const u = a.u || b.u;
    if (skip) return { v: 0n, u };
    const aa = a.a ?? 0n;
    const ba = b.a ?? 0n;
    const x = u ? BigInt.asUintN(this.opts.intmaxBits, a.v) : a.v;
    const y = u ? BigInt.asUintN(this.opts.intmaxBits, b.v) : b.v;
    const symVal = (coef: bigint, v: bigint): Val => ({ ...this.norm(v, u), a: coef });
    switch (op) {
      case "+": return symVal(aa + ba, x + y);
      case "-": return symVal(aa - ba, x - y);
      case "*":
        if (aa === 0n) return symVal(ba * x, x * y);
        if (ba === 0n) return symVal(aa * y, x * y);
        break;
      case "==": case "!=":
        // a·n + x ≡ a·n + y (mod 2^width) exactly when x ≡ y: both are already reduced to the width.
        if (aa === ba) return bool((x === y) === (op === "=="));
        break;
      case "<": case ">": case "<=": case ">=": {
        const small = (c: bigint, v: bigint) => c >= -SYM_A_MAX && c <= SYM_A_MAX && v >= -SYM_V_MAX && v <= SYM_V_MAX;
        if (aa === ba && !u && small(aa, x) && small(ba, y)) {
          return bool(op === "<" ? x < y : op === ">" ? x > y : op === "<=" ? x <= y : x >= y);
        }
        break;
      }
    }
    return dependsOnCounter(`the operator ${op}`);
  }

  /** gcc `num_lshift`/`num_rshift`: the result has the left operand's type. */
  private shift(left: boolean, a: Val, b: Val): Val {
    let n = b.u ? BigInt.asUintN(this.opts.intmaxBits, b.v) : b.v;
    if (n < 0n) {
      left = !left;
      n = -n;
    }
    const x = a.u ? BigInt.asUintN(this.opts.intmaxBits, a.v) : a.v;
    if (n >= this.bits) return { v: !left && !a.u && x < 0n ? -1n : 0n, u: a.u };
    return this.norm(left ? x << n : x >> n, a.u);
  }

  private unary(skip: boolean): Val {
    const op = this.peekOp();
    if (op === "+" || op === "-" || op === "~" || op === "!") {
      this.pos++;
      const v = this.unary(skip);
      if (op === "+") return v;
      if (op === "-") return sym(v) ? { ...this.norm(-v.v, v.u), a: -v.a! } : this.norm(-v.v, v.u);
      if (sym(v)) return skip ? { v: 0n, u: v.u } : dependsOnCounter(`the operator ${op}`);
      if (op === "~") return this.norm(~v.v, v.u);
      return bool(v.v === 0n);
    }
    return this.primary(skip);
  }

  private primary(skip: boolean): Val {
    const t = this.toks[this.pos++];
    if (!t) throw new ScanFallback("error", "#if expression ends where an operand is expected");
    if (t.k === Tk.Punct && t.t === "(") {
      const v = this.comma(skip);
      if (this.toks[this.pos]?.t !== ")") throw new ScanFallback("error", "missing ')' in #if expression");
      this.pos++;
      return v;
    }
    if (t.k === Tk.Number) return t.ctr !== undefined ? { v: BigInt(t.ctr), u: false, a: 1n } : this.number(t.t);
    if (t.k === Tk.Char) return this.char(t.t);
    if (t.k === Tk.Ident) {
      if (this.opts.cxx && t.t === "true") return { v: 1n, u: false };
      if (this.opts.cxx && ALT[t.t] !== undefined) throw new ScanFallback("error", `operand expected before "${t.t}"`);
      return { v: 0n, u: false };
    }
    if (t.k === Tk.Punct && t.t === "#") throw new ScanFallback("unsupported", "GNU assertions (#if #pred(answer)) are not modelled");
    throw new ScanFallback("error", `token "${t.t}" is not valid in preprocessor expressions`);
  }

  /** An integer literal (C17 §6.4.4.1; binary and digit separators as gcc accepts them). */
  private number(text: string): Val {
    const s = text.includes("'") ? text.replace(/'/g, "") : text;
    const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)([a-zA-Z]*)$/.exec(s);
    if (!m) throw new ScanFallback("error", `invalid integer constant "${text}" in #if (floating constants are not allowed)`);
    const digits = m[1]!;
    const suffix = m[2]!.toLowerCase();
    if (!/^(u?(l|ll|z|wb)?|(l|ll|z|wb)u)$/.test(suffix)) throw new ScanFallback("error", `invalid suffix "${m[2]}" on integer constant`);
    let v: bigint;
    if (/^0[xX]/.test(digits)) v = BigInt(digits);
    else if (/^0[bB]/.test(digits)) v = BigInt(`0b${digits.slice(2)}`);
    else if (digits.length > 1 && digits[0] === "0") {
      if (!/^0[0-7]+$/.test(digits)) throw new ScanFallback("error", `invalid digit in octal constant "${text}"`);
      v = BigInt(`0o${digits.slice(1)}`);
    } else v = BigInt(digits);
    if (v >= 1n << this.bits) throw new ScanFallback("error", `integer constant "${text}" is too large for its type`);
    return { v, u: suffix.includes("u") || v > this.max };
  }

  /** A character constant (C17 §6.4.4.4; gcc `cpp_interpret_charconst` for multi-character values). */
  private char(text: string): Val {
    const q = text.indexOf("'");
    const prefix = text.slice(0, q);
    if (!text.endsWith("'") || text.length - q < 3) throw new ScanFallback("error", `invalid character constant ${text}`);
    const raw = text.slice(q + 1, -1);
    const body = prefix === "" ? raw : Buffer.from(raw, "latin1").toString("utf8");
    const units = charUnits(body, prefix === "");
    if (prefix !== "") {
      const last = BigInt(units[units.length - 1] ?? 0);
      if (prefix === "L") return { v: BigInt.asIntN(32, last), u: false };
      return { v: last, u: prefix !== "u8" };
    }
    let v = 0n;
    for (const c of units) v = BigInt.asUintN(32, (v << 8n) | BigInt(c & 0xff));
    if (units.length === 1) return { v: this.opts.charUnsigned ? v : BigInt.asIntN(8, v), u: false };
    return { v: BigInt.asIntN(32, v), u: false };
  }

  private norm(v: bigint, u: boolean): Val {
    return { v: u ? BigInt.asUintN(this.opts.intmaxBits, v) : BigInt.asIntN(this.opts.intmaxBits, v), u };
  }
}

function bool(b: boolean): Val {
  return { v: b ? 1n : 0n, u: false };
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10, t: 9, v: 11, b: 8, r: 13, f: 12, a: 7, e: 27, E: 27, "\\": 92, "'": 39, '"': 34, "?": 63,
};

/** The code units of a character constant's body, escapes decoded; `bytes`: plain char (one unit per byte). */
function charUnits(body: string, bytes: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < body.length;) {
    const c = body[i]!;
    if (c !== "\\") {
      const cp = body.codePointAt(i)!;
      out.push(cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body[i + 1] ?? "";
    if (SIMPLE_ESCAPES[e] !== undefined) {
      out.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0];
      out.push(parseInt(m, 8));
      i += 1 + m.length;
    } else if (e === "x") {
      const m = /^[0-9a-fA-F]+/.exec(body.slice(i + 2))?.[0];
      if (!m) throw new ScanFallback("error", "\\x used with no following hex digits");
      out.push(Number(BigInt.asUintN(32, BigInt(`0x${m}`))));
      i += 2 + m.length;
    } else if (e === "u" || e === "U") {
      const len = e === "u" ? 4 : 8;
      const h = body.slice(i + 2, i + 2 + len);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== len) throw new ScanFallback("error", `incomplete universal character name \\${e}${h}`);
      const cp = parseInt(h, 16);
      if (bytes) out.push(...Buffer.from(String.fromCodePoint(cp), "utf8"));
      else out.push(cp);
      i += 2 + len;
    } else {
      throw new ScanFallback("error", `unknown escape sequence '\\${e}'`);
    }
  }
  return out;
}
