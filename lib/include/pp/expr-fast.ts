/**
 * The fast path of the `#if` evaluator: the same grammar over JS numbers, for the conditions that
 * make up nearly all of real headers (`__cplusplus >= 201103L`, `defined X && X > 2`, small bit
 * masks). It gives up — returns undefined — on anything where doubles could differ from intmax_t
 * arithmetic or where an error must be reported: unsigned values, results beyond ±2^53, bitwise
 * operands beyond 32 bits, shifts of negative values or by ≥ 32, division by zero, character
 * constants, malformed input. expr.ts then evaluates with BigInt and reports errors.
 *
 * Spec: C17 §6.10.1 (same rules as expr.ts, restricted to where both agree).
 */
import { Tk, type Token } from "./tokens.ts";

const PREC: Record<string, number> = {
  "*": 10, "/": 10, "%": 10, "+": 9, "-": 9, "<<": 8, ">>": 8, "<": 7, ">": 7, "<=": 7, ">=": 7,
  "==": 6, "!=": 6, "&": 5, "^": 4, "|": 3, "&&": 2, "||": 1,
};
const ALT: Record<string, string> = {
  and: "&&", or: "||", not: "!", bitand: "&", bitor: "|", xor: "^", compl: "~", not_eq: "!=",
};
const INT32 = 2147483647;

/**
 * Evaluates a condition with doubles where that is exact.
 * @returns the value, or undefined when the BigInt evaluator must decide.
 * @example evalFast(tokens("1 + 2 * 3 == 7"), false) // 1
 */
export function evalFast(input: readonly Token[], isCxx: boolean): number | undefined {
  const p = new FastParser(input, isCxx);
  const v = p.comma(false);
  return !p.bad && p.pos === input.length ? v : undefined;
}

/** One evaluation's state (made per call, as expr.ts's Parser: no state outlives a condition). */
class FastParser {
  pos = 0;
  bad = false;

  constructor(private readonly toks: readonly Token[], private readonly cxx: boolean) {}

  op(): string {
    const t = this.toks[this.pos];
    if (t === undefined) return "";
    if (t.k === Tk.Punct) return t.t;
    if (t.k === Tk.Ident && this.cxx) return ALT[t.t] ?? "";
    return "";
  }

  comma(skip: boolean): number {
    let v = this.cond(skip);
    while (!this.bad && this.op() === ",") {
      this.pos++;
      v = this.cond(skip);
    }
    return v;
  }

  cond(skip: boolean): number {
    const c = this.binary(1, skip);
    if (this.bad || this.op() !== "?") return c;
    this.pos++;
    const a = this.comma(skip || c === 0);
    if (this.op() !== ":") {
      this.bad = true;
      return 0;
    }
    this.pos++;
    const b = this.cond(skip || c !== 0);
    return c !== 0 ? a : b;
  }

  binary(minPrec: number, skip: boolean): number {
    let lhs = this.unary(skip);
    for (;;) {
      if (this.bad) return 0;
      const o = this.op();
      const prec = PREC[o];
      if (prec === undefined || prec < minPrec) return lhs;
      this.pos++;
      if (o === "&&" || o === "||") {
        const short = o === "&&" ? lhs === 0 : lhs !== 0;
        const rhs = this.binary(prec + 1, skip || short);
        lhs = (o === "&&" ? !short && rhs !== 0 : short || rhs !== 0) ? 1 : 0;
        continue;
      }
      lhs = this.apply(o, lhs, this.binary(prec + 1, skip), skip);
    }
  }

  apply(o: string, a: number, b: number, skip: boolean): number {
    let r: number;
    switch (o) {
      case "*": r = a * b; break;
      case "/":
        if (b === 0) return skip ? 0 : this.fail();
        r = Math.trunc(a / b);
        break;
      case "%":
        if (b === 0) return skip ? 0 : this.fail();
        r = a % b;
        break;
      case "+": r = a + b; break;
      case "-": r = a - b; break;
      case "<<":
        if (a < 0 || b < 0 || b >= 32) return this.fail();
        r = a * 2 ** b;
        break;
      case ">>":
        if (b < 0 || b >= 32) return this.fail();
        r = Math.floor(a / 2 ** b);
        break;
      case "<": return a < b ? 1 : 0;
      case ">": return a > b ? 1 : 0;
      case "<=": return a <= b ? 1 : 0;
      case ">=": return a >= b ? 1 : 0;
      case "==": return a === b ? 1 : 0;
      case "!=": return a !== b ? 1 : 0;
      case "&": case "^": case "|":
        if (a > INT32 || a < -INT32 - 1 || b > INT32 || b < -INT32 - 1) return this.fail();
        return o === "&" ? a & b : o === "^" ? a ^ b : a | b;
      default: return this.fail();
    }
    return Number.isSafeInteger(r) ? r + 0 : this.fail();
  }

  unary(skip: boolean): number {
    const o = this.op();
    if (o === "+" || o === "-" || o === "~" || o === "!") {
      this.pos++;
      const v = this.unary(skip);
      if (o === "-") return -v + 0;
      if (o === "~") return v > INT32 || v < -INT32 - 1 ? this.fail() : ~v;
      if (o === "!") return v === 0 ? 1 : 0;
      return v;
    }
    const t = this.toks[this.pos++];
    if (t === undefined) return this.fail();
    if (t.k === Tk.Number) return this.literal(t.t);
    if (t.k === Tk.Ident) {
      if (this.cxx && ALT[t.t] !== undefined) return this.fail();
      return this.cxx && t.t === "true" ? 1 : 0;
    }
    if (t.k === Tk.Punct && t.t === "(") {
      const v = this.comma(skip);
      if (this.toks[this.pos]?.t !== ")") return this.fail();
      this.pos++;
      return v;
    }
    return this.fail();
  }

  /** A signed integer literal's value; NaN (→ fail) for anything else. */
  literal(text: string): number {
    let v = NaN;
    const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)(l|L|ll|LL)?$/.exec(text);
    if (m) {
      const d = m[1]!;
      const n = d.length > 1 && (d[1] === "x" || d[1] === "X") ? parseInt(d.slice(2), 16)
        : d.length > 1 && (d[1] === "b" || d[1] === "B") ? parseInt(d.slice(2), 2)
          : d.length > 1 && d[0] === "0" ? parseInt(d.slice(1), 8) : parseInt(d, 10);
      if (Number.isSafeInteger(n)) v = n;
    }
    return Number.isNaN(v) ? this.fail() : v;
  }

  fail(): number {
    this.bad = true;
    return 0;
  }
}
