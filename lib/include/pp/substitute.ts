/**
 * The substitution half of macro expansion: reading a function-like macro's arguments, putting them
 * into its body, `#` stringizing, `##` pasting with placemarkers, GNU `, ## __VA_ARGS__` and
 * `__VA_OPT__`, and the hide-set arithmetic of Prosser's algorithm. expand.ts drives it.
 *
 * Spec: C17 §6.10.3.1 (argument substitution), §6.10.3.2 (`#`), §6.10.3.3 (`##`, placemarkers),
 * §6.10.3.5 (examples); C++20 [cpp.subst] (`__VA_OPT__`); gcc manual "Variadic Macros".
 */
import { NOPARAM, PASTE, type Macro } from "./macros.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { noCounter, Tk, type HideSet, type Token } from "./tokens.ts";

const PLACEMARKER: Token = { k: Tk.Placemarker, t: "", ws: false };

/**
 * Substitutes the arguments into a macro's body and runs its `#` and `##` operators (C17 §6.10.3.1–3):
 * a parameter next to `##` or after `#` gets its argument as written, any other its argument fully
 * expanded (`expandArg`, once per parameter); `hs` is added to every result token's hide set and the
 * first result token takes the invocation's spacing `ws`.
 */
export function substitute(
  m: Macro, args: Token[][] | null, hs: HideSet, ws: boolean, expandArg: (arg: Token[]) => Token[],
): Token[] {
  const body = m.body;
  const pidx = m.pidx;
  const out: Token[] = [];
  let pastes = false;
  let skipAt = -1;
  const expanded: (Token[] | undefined)[] = [];
  for (let i = 0; i < body.length; i++) {
    if (i === skipAt) continue;
    const b = body[i]!;
    const p = pidx[i]!;
    if (p === PASTE) {
      pastes = true;
      const va = args && m.variadic && pidx[i + 1] === args.length - 1 ? args[args.length - 1]! : undefined;
      if (va !== undefined && pidx[i - 1] === NOPARAM && body[i - 1]!.t === "," && out[out.length - 1] === body[i - 1]) {
        // GNU `, ## __VA_ARGS__`: the comma goes when the variable arguments are empty.
        if (va.length === 0) out.pop();
        else pushCopies(out, va, body[i + 1]!.ws);
        i++;
        continue;
      }
      out.push(b);
      continue;
    }
    if (args !== null && b.k === Tk.Punct && b.t === "#" && i + 1 < body.length && pidx[i + 1]! >= 0) {
      out.push({ k: Tk.String, t: stringize(args[pidx[i + 1]!]!), ws: b.ws });
      i++;
      continue;
    }
    if (args !== null && m.variadic && b.k === Tk.Ident && b.t === "__VA_OPT__" && body[i + 1]?.t === "(") {
      const close = matchingParen(body, i + 1);
      if (args[args.length - 1]!.length === 0) {
        out.push(PLACEMARKER);
        i = close;
      } else {
        skipAt = close;
        i++;
      }
      continue;
    }
    if (p >= 0 && args !== null) {
      const arg = args[p]!;
      if (pidx[i - 1] === PASTE || pidx[i + 1] === PASTE) {
        if (arg.length === 0) out.push(PLACEMARKER);
        else pushCopies(out, arg, b.ws);
      } else {
        const e = (expanded[p] ??= expandArg(arg));
        pushCopies(out, e, b.ws);
      }
      continue;
    }
    out.push(b);
  }
  const pasted = pastes ? pasteAll(out, body) : out;
  const res: Token[] = [];
  for (const t of pasted) {
    if (t.k === Tk.Placemarker) continue;
    const r: Token = { k: t.k, t: t.t, ws: res.length === 0 ? ws : t.ws, hs: union(t.hs, hs) };
    if (t.ctr !== undefined) r.ctr = t.ctr;
    res.push(r);
  }
  return res;
}

/** Runs the `##` operators (the body's own `##` tokens, by identity) left to right. */
function pasteAll(list: Token[], body: readonly Token[]): Token[] {
  const ops = new Set(body.filter((t) => t.k === Tk.Punct && t.t === "##"));
  const out: Token[] = [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    if (ops.has(t) && out.length > 0 && i + 1 < list.length) {
      out.push(pasteTokens(out.pop()!, list[++i]!));
    } else {
      out.push(t);
    }
  }
  return out;
}

/**
 * Reads the arguments of a function-like invocation from a reversed token stack whose top is the `(`:
 * commas at depth 0 separate them (inside the variable arguments they belong to them); a variadic
 * macro may get no variable arguments at all (GNU). Returns them and the closing `)` (for its hide set).
 * @throws {ScanFallback} "error" for an unterminated invocation or a wrong argument count.
 * @internal
 */
export function collectArgs(stack: Token[], m: Macro): { args: Token[][]; close: Token } {
  stack.pop();
  const nparams = m.params!.length;
  const args: Token[][] = [[]];
  let depth = 0;
  for (;;) {
    const t = stack.pop();
    if (!t) throw new ScanFallback("error", `unterminated argument list invoking macro "${m.name}"`);
    if (t.t === ")" && t.k === Tk.Punct && depth === 0) {
      if (nparams === 0 && args.length === 1 && args[0]!.length === 0) args.length = 0;
      if (args.length === nparams - 1 && m.variadic) args.push([]);
      if (args.length !== nparams) {
        throw new ScanFallback("error", `macro "${m.name}" takes ${nparams} arguments, ${args.length} given`);
      }
      return { args, close: t };
    }
    if (t.k === Tk.Punct) {
      if (t.t === "(") depth++;
      else if (t.t === ")") depth--;
      else if (t.t === "," && depth === 0 && !(m.variadic && args.length === nparams)) {
        args.push([]);
        continue;
      }
    }
    args[args.length - 1]!.push(t);
  }
}

/** The index of the `)` matching the `(` at `open` in a macro body. */
function matchingParen(body: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < body.length; i++) {
    if (body[i]!.t === "(") depth++;
    else if (body[i]!.t === ")" && --depth === 0) return i;
  }
  throw new ScanFallback("error", "unterminated __VA_OPT__");
}

function pushCopies(out: Token[], toks: readonly Token[], ws: boolean): void {
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    out.push(i === 0 && t.ws !== ws ? { ...t, ws } : t);
  }
}


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
  if (a.ctr !== undefined || b.ctr !== undefined) noCounter([a, b], "a ## paste");
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
    if (t.ctr !== undefined) noCounter(arg, "a # stringizing");
    if (t.ws && !first) s += " ";
    first = false;
    s += t.k === Tk.String || t.k === Tk.Char ? t.t.replace(/[\\"]/g, "\\$&") : t.t;
  }
  return s + '"';
}

/** `hs ∪ {name}` (a new set unless `name` is in it already). @internal */
export function addName(hs: HideSet | undefined, name: string): HideSet {
  if (hs === undefined) return new Set([name]);
  if (hs.has(name)) return hs;
  const s = new Set(hs);
  s.add(name);
  return s;
}

/** `a ∩ b`; undefined for an empty set. @internal */
export function intersect(a: HideSet | undefined, b: HideSet | undefined): HideSet | undefined {
  if (a === undefined || b === undefined) return undefined;
  const s = new Set<string>();
  for (const x of a) if (b.has(x)) s.add(x);
  return s.size === 0 ? undefined : s;
}

function union(a: HideSet | undefined, b: HideSet): HideSet {
  if (a === undefined || a === b) return b;
  let s: Set<string> | undefined;
  for (const x of a) {
    if (b.has(x)) continue;
    s ??= new Set(b);
    s.add(x);
  }
  return s ?? b;
}
