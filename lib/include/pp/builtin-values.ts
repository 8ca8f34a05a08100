/**
 * The values of the builtin macros the scanner computes itself when a directive uses them:
 * `__LINE__` (after `#line`), `__FILE__` (the path as the compiler spells it, or as `#line` set it),
 * clang's `__FILE_NAME__`, `__BASE_FILE__`, `__INCLUDE_LEVEL__`, `__DATE__`, `__TIME__`, `__TIMESTAMP__`.
 * `__COUNTER__` has no value here: program text the scanner never reads also advances it. In a `#if`
 * condition the scanner makes it a symbolic token instead (tokens.ts `ctr`, evaluated by expr.ts);
 * anywhere else in a directive (a computed `#include`, `#line`) it falls back.
 *
 * Spec: gcc manual "Standard Predefined Macros", "Common Predefined Macros"; clang "Builtin Macros".
 */
import * as path from "node:path";
import type { BuiltinKind } from "./macros.ts";
import { ScanFallback } from "../scan-fallback.ts";
import { Tk, type Token } from "./tokens.ts";

/** Where in the translation unit a builtin is expanded. */
export interface BuiltinContext {
  /** The presumed line (physical line plus any `#line` adjustment). */
  line: number;
  /** The presumed file name (`__FILE__`). */
  file: string;
  /** The source file as given on the command line (`__BASE_FILE__`). */
  base: string;
  /** Include depth: 0 in the source file. */
  depth: number;
}

/**
 * The token a dynamic builtin macro expands to.
 * @throws {ScanFallback} "unsupported" for `__COUNTER__` (outside a condition: see the module comment).
 * @example builtinValue("__LINE__", { line: 7, file: "a.c", base: "a.c", depth: 0 }) // { k: Tk.Number, t: "7", ws: false }
 */
export function builtinValue(kind: BuiltinKind, at: BuiltinContext): Token {
  switch (kind) {
    case "__LINE__": return num(at.line);
    case "__FILE__": return str(at.file);
    case "__FILE_NAME__": return str(path.basename(at.file));
    case "__BASE_FILE__": return str(at.base);
    case "__INCLUDE_LEVEL__": return num(at.depth);
    case "__DATE__": return str(new Date().toDateString().slice(4));
    case "__TIME__": return str(new Date().toTimeString().slice(0, 8));
    case "__TIMESTAMP__": return str(new Date().toString().slice(0, 24));
    default: throw new ScanFallback("unsupported", `${kind} in a directive is not modelled`);
  }
}

function str(s: string): Token {
  return { k: Tk.String, t: `"${s.replace(/[\\"]/g, "\\$&")}"`, ws: false };
}

function num(n: number): Token {
  return { k: Tk.Number, t: String(n), ws: false };
}
