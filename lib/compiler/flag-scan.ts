/**
 * Splits a gcc/clang argv into options and inputs using {@link FLAG_TABLE}. Both the flag parser and
 * input discovery use it, so they agree on which arguments belong to which option.
 *
 * Spec: Goma `lib/flag_parser.cc` (FlagParser::Parse).
 */
import { EXACT_FLAGS, PREFIX_FLAGS, type FlagSpec } from "./flag-table.ts";

/** One scanned argument (or option plus its separate value). */
export type ScannedArg =
  /** An option in the table; `count` is 2 when the value is the next argument. */
  | { kind: "flag"; index: number; count: 1 | 2; spec: FlagSpec; value: string }
  /** A non-option argument: a file name, or "-" for stdin. */
  | { kind: "input"; index: number; count: 1; value: string }
  /** An option that is not in the table. */
  | { kind: "unknown"; index: number; count: 1; value: string }
  /** A `separate`/`joinedOrSeparate` option at the end of argv, without its value. */
  | { kind: "missingValue"; index: number; count: 1; spec: FlagSpec; value: string };

/**
 * Scans `args` (argv[0] is skipped) into options and inputs, in order.
 *
 * An exact match of a `bool`, `separate` or `joinedOrSeparate` row wins; otherwise the longest
 * `joined`/`joinedOrSeparate` row that is a prefix of the argument matches, and the rest is its value.
 * The value of a `separate` option is taken even if it starts with "-" (as gcc does).
 *
 * @param args the full argv, response files already expanded.
 * @returns one entry per option or input; `index` points into `args`.
 * @example
 * scanArgs(["gcc", "-I", "inc", "-c", "a.c"]).map((a) => a.kind) // ["flag", "flag", "input"]
 * @internal shared by parse-flags.ts and discover-inputs.ts.
 */
export function scanArgs(args: readonly string[]): ScannedArg[] {
  const out: ScannedArg[] = [];
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-" || !arg.startsWith("-")) {
      out.push({ kind: "input", index: i, count: 1, value: arg });
      continue;
    }
    const exact = EXACT_FLAGS.get(arg);
    if (exact) {
      if (exact.form === "bool") {
        out.push({ kind: "flag", index: i, count: 1, spec: exact, value: "" });
      } else if (i + 1 < args.length) {
        out.push({ kind: "flag", index: i, count: 2, spec: exact, value: args[i + 1]! });
        i++;
      } else {
        out.push({ kind: "missingValue", index: i, count: 1, spec: exact, value: "" });
      }
      continue;
    }
    const prefix = PREFIX_FLAGS.find((f) => arg.startsWith(f.name));
    if (prefix) {
      out.push({ kind: "flag", index: i, count: 1, spec: prefix, value: arg.slice(prefix.name.length) });
      continue;
    }
    out.push({ kind: "unknown", index: i, count: 1, value: arg });
  }
  return out;
}

/** The arguments of one scanned entry, as they appear in argv. @internal */
export function argsOf(args: readonly string[], a: ScannedArg): string[] {
  return args.slice(a.index, a.index + a.count);
}

/**
 * Splits a `-Wp,` value into the preprocessor options it carries and finds `-MD file`/`-MMD file`
 * (Goma treats `-Wp,-MD,f` as a dep file output) and `-D`/`-U` macros.
 *
 * @param value the text after "-Wp,", e.g. "-MD,out/a.d" or "-D_FORTIFY_SOURCE=2".
 * @returns `depFile` (last one wins), `defines` in order, and `rest`: the sub-arguments other than the
 *   `-MD`/`-MMD` pairs, for rebuilding a `-Wp,` option without the dep file.
 * @example splitPreprocessorArgs("-MD,a.d") // { depFile: "a.d", defines: [], rest: [] }
 * @internal
 */
export function splitPreprocessorArgs(value: string): {
  depFile?: string;
  defines: { kind: "D" | "U"; value: string }[];
  rest: string[];
} {
  const parts = value.split(",");
  const rest: string[] = [];
  const defines: { kind: "D" | "U"; value: string }[] = [];
  let depFile: string | undefined;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if ((p === "-MD" || p === "-MMD") && i + 1 < parts.length) {
      depFile = parts[++i]!;
      continue;
    }
    rest.push(p);
    if (p === "-D" || p === "-U") {
      if (i + 1 < parts.length) {
        defines.push({ kind: p === "-D" ? "D" : "U", value: parts[i + 1]! });
        rest.push(parts[++i]!);
      }
    } else if (p.startsWith("-D") || p.startsWith("-U")) {
      defines.push({ kind: p[1] === "D" ? "D" : "U", value: p.slice(2) });
    }
  }
  return depFile === undefined ? { defines, rest } : { depFile, defines, rest };
}
