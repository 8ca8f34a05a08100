/**
 * Macro definitions: parsing `#define` lines, `-D`/`-U` options and the compiler's `-dM -E` output
 * into {@link Macro} objects, and the macro table one scan works with.
 *
 * Spec: C17 §6.10.3 (macro replacement), gcc manual "Macros" (variadic, named variadic `args...`),
 * gcc `-D name=definition` ("the contents of definition are tokenized as if they appeared in a #define").
 */
import { lexFile, type LexMode } from "./lexer.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { tokenizeLine } from "./tokenize.ts";
import { Tk, type Token } from "./tokens.ts";

/** Builtin macros whose value the scanner computes (`__LINE__`…) or operators it evaluates (`__has_include`…). */
export type BuiltinKind =
  | "__LINE__" | "__FILE__" | "__COUNTER__" | "__INCLUDE_LEVEL__" | "__BASE_FILE__" | "__FILE_NAME__"
  | "__DATE__" | "__TIME__" | "__TIMESTAMP__"
  /** `__has_include`, `__has_include_next`: looked up on the search path. */
  | "has_include"
  /** `__has_builtin(x)`, `__has_attribute(x)`, …: answered from the compiler's own table. */
  | "query"
  /** An operator the compiler has but the scanner does not model (`__is_target_arch`): fallback if used. */
  | "unknown";

/** Parameter index of a `##` operator in {@link Macro.pidx}. */
export const PASTE = -2;
/** Parameter index of an ordinary body token. */
export const NOPARAM = -1;

/** One macro definition (shared between scans; never mutated). */
export interface Macro {
  name: string;
  /** Parameter names (`__VA_ARGS__` for `...`); null for an object-like macro. */
  params: string[] | null;
  /** The last parameter takes the variable arguments (`...` or GNU `args...`). */
  variadic: boolean;
  /** The replacement list; the first token has `ws` false. */
  body: Token[];
  /** Per body token: its parameter index, {@link PASTE} for a `##` operator, else {@link NOPARAM}. */
  pidx: Int16Array;
  /** Set for builtins handled by the scanner itself. */
  builtin?: BuiltinKind;
}

/**
 * Parses the tokens of a `#define` line (after the word `define`).
 *
 * @param where the location for messages (a function: computed only for a message).
 * @throws {ScanFallback} "error" for what gcc and clang reject: no name, a bad parameter list,
 *   `##` at either end, `#` not followed by a parameter in a function-like macro.
 * @example parseDefine(tokenizeLine("F(a, ...) a __VA_ARGS__", …)).params // ["a", "__VA_ARGS__"]
 */
export function parseDefine(toks: readonly Token[], where: string | (() => string)): Macro {
  const fail = (why: string): never => {
    throw new ScanFallback("error", `${typeof where === "string" ? where : where()}: invalid #define: ${why}`);
  };
  const nameTok = toks[0];
  if (!nameTok || nameTok.k !== Tk.Ident) return fail("no macro name");
  if (nameTok.t === "defined") return fail(`"defined" cannot be used as a macro name`);
  let i = 1;
  let params: string[] | null = null;
  let variadic = false;
  if (toks[1]?.t === "(" && !toks[1].ws) {
    params = [];
    i = 2;
    for (;;) {
      const t = toks[i++];
      if (!t) return fail("unterminated parameter list");
      if (t.t === ")" && params.length === 0) break;
      if (t.t === "...") {
        params.push("__VA_ARGS__");
        variadic = true;
      } else if (t.k === Tk.Ident) {
        params.push(t.t);
        if (toks[i]?.t === "...") {
          variadic = true;
          i++;
        }
      } else {
        return fail(`unexpected "${t.t}" in the parameter list`);
      }
      const sep = toks[i++];
      if (sep?.t === ")") break;
      if (sep?.t !== "," || variadic) return fail("malformed parameter list");
    }
  }
  const body = toks.slice(i).map((t, k) => (k === 0 && t.ws ? { ...t, ws: false } : t));
  const pidx = new Int16Array(body.length).fill(NOPARAM);
  for (let k = 0; k < body.length; k++) {
    const t = body[k]!;
    if (t.k === Tk.Punct && t.t === "##") {
      if (k === 0 || k === body.length - 1) fail("'##' cannot appear at either end of a macro expansion");
      pidx[k] = PASTE;
    } else if (params && t.k === Tk.Ident) {
      const p = params.indexOf(t.t);
      if (p >= 0) pidx[k] = p;
    }
  }
  if (params) {
    for (let k = 0; k < body.length; k++) {
      const t = body[k]!;
      if (t.k === Tk.Punct && t.t === "#" && !(pidx[k + 1]! >= 0 || body[k + 1]?.t === "__VA_OPT__")) {
        fail("'#' is not followed by a macro parameter");
      }
    }
  }
  return { name: nameTok.t, params, variadic, body, pidx };
}

/**
 * The `#define` text of a `-D` option value: `NAME` → `NAME 1`, `NAME=VALUE` → `NAME VALUE`,
 * `F(x)=VALUE` → `F(x) VALUE` (gcc and clang; the value is cut at its first newline, as gcc does).
 * @example defineText("X=a b") // "X a b"
 */
export function defineText(value: string): string {
  const eq = value.indexOf("=");
  if (eq < 0) return `${value} 1`;
  const def = value.slice(eq + 1);
  const nl = def.indexOf("\n");
  return `${value.slice(0, eq)} ${nl < 0 ? def : def.slice(0, nl)}`;
}

/**
 * Parses a whole text of `#define` lines, such as the compiler's `-dM -E` output, into a table.
 * Lines other than `#define` are ignored; a malformed line is skipped (it cannot come from a compiler).
 */
export function parseDefines(text: string, mode: LexMode, where: string): Map<string, Macro> {
  const out = new Map<string, Macro>();
  const lexed = lexFile(text, mode);
  for (const d of lexed.directives) {
    if (d.name !== "define") continue;
    try {
      const m = parseDefine(tokenizeLine(lexed.text, d.start, d.end, mode, false), where);
      out.set(m.name, m);
    } catch {
      // not produced by a working compiler; ignore
    }
  }
  return out;
}

/** Makes a builtin entry for the macro table: defined (for `defined`/`#ifdef`), evaluated by the scanner. */
export function builtinMacro(name: string, builtin: BuiltinKind): Macro {
  return { name, params: null, variadic: false, body: [], pidx: new Int16Array(0), builtin };
}

/**
 * One Macro object per key for the life of an IncludeProcessor (`-D` definitions by text, builtins by
 * name): the `#if` memo (cond-memo.ts) recognizes an unchanged definition by object identity.
 */
export class MacroPool {
  private readonly shared = new Map<string, Macro>();

  /** The pooled macro for `key`, made by `make` the first time. */
  get(key: string, make: () => Macro): Macro {
    let m = this.shared.get(key);
    if (m === undefined) {
      m = make();
      if (this.shared.size > 100_000) this.shared.clear();
      this.shared.set(key, m);
    }
    return m;
  }
}

/**
 * What a macro table starts from: the part of a compiler probe (probe/probe.ts `Probe`) it reads —
 * the predefined macros, the builtins, and the lexical mode `-D` values are tokenized in.
 */
export interface MacroSource {
  macros: ReadonlyMap<string, Macro>;
  builtins: ReadonlyMap<string, BuiltinKind>;
  mode: LexMode;
  /** A short key of `mode`. */
  modeKey: string;
}

/**
 * The macro table of one scan: the probe's predefined macros and builtins, then whatever the command
 * line and the directives define, plus the `#pragma push_macro`/`pop_macro` stacks (gcc and clang:
 * push saves the current definition, or its absence; pop restores it; pop of an empty stack is ignored).
 */
export class MacroTable {
  /** Name → definition (read and written directly by the scanner and the expander). */
  readonly map: Map<string, Macro>;
  private readonly pushed = new Map<string, (Macro | undefined)[]>();

  /** @param pool the processor's pool, so that a builtin or `-D` is the same object in every scan. */
  constructor(probe: MacroSource, private readonly pool: MacroPool) {
    this.map = new Map(probe.macros);
    for (const [name, kind] of probe.builtins) this.map.set(name, pool.get(`${kind}\0${name}`, () => builtinMacro(name, kind)));
  }

  /** `-D NAME[=VALUE]` (kind "D") or `-U NAME`. @throws {ScanFallback} "error" for a malformed -D. */
  commandLine(kind: "D" | "U", value: string, probe: MacroSource): void {
    if (kind === "U") {
      this.map.delete(value);
      return;
    }
    const text = defineText(value);
    const m = this.pool.get(`${probe.modeKey}\0${text}`, () => parseDefine(tokenizeLine(text, 0, text.length, probe.mode, false), "<command-line>"));
    this.map.set(m.name, m);
  }

  /** `#pragma push_macro("name")`. */
  push(name: string): void {
    let st = this.pushed.get(name);
    if (!st) this.pushed.set(name, (st = []));
    st.push(this.map.get(name));
  }

  /** `#pragma pop_macro("name")`. */
  pop(name: string): void {
    const st = this.pushed.get(name);
    if (st === undefined || st.length === 0) return;
    const m = st.pop();
    if (m) this.map.set(name, m);
    else this.map.delete(name);
  }
}
