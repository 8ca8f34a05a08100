/**
 * What a compile command means to its preprocessor, read from its argv with the same flag table the
 * flag parser uses: the `-D`/`-U` sequence, `-imacros` and `-include` files (kept apart: gcc and clang
 * run every `-imacros` before every `-include`), the include directories per chain, and the
 * arguments to probe the compiler with — the command minus inputs, outputs, dependency options,
 * include directories, macros and forced includes, so one probe serves every compile that shares
 * its code-generation flags (`-O2` defines `__OPTIMIZE__`, `-fopenmp` `_OPENMP`, `-march` `__AVX2__`…).
 *
 * Options whose effect on preprocessing the scanner does not model make it give up (`unsupported`).
 *
 * Spec: gcc manual "Preprocessor Options", "Directory Options"; gcc c-family/c-opts.cc
 * (`c_finish_options`: -D/-U in order, then -imacros, then -include).
 */
import { scanArgs, splitPreprocessorArgs } from "../compiler/flag-scan.ts";

/** The preprocessor's view of one compile command. */
export interface PpOptions {
  /** Arguments for the probe (see the module comment), in command order. */
  probeArgs: string[];
  /** `-D`/`-U` (also from `-Wp,`), in order; `value` is `NAME` or `NAME=VALUE`. */
  defines: { kind: "D" | "U"; value: string }[];
  /** `-imacros` files, in order. */
  imacros: string[];
  /** `-include` files, in order. */
  includes: string[];
  /** Include directories as given, per chain, in order. */
  dirs: { quote: string[]; angle: string[]; system: string[]; after: string[] };
  /** Set when the command uses an option the scanner does not model: the reason. */
  unsupported?: string;
}

/** Options dropped from the probe because they cannot change predefined macros or search dirs. */
const DROP_PREFIX = ["-W", "-g", "-L", "-l"];
const DROP_EXACT = new Set(["-H", "-P", "-C", "-CC", "-pipe", "-time", "-Xlinker", "-Xassembler",
  "-dM", "-dD", "-dN", "-dI", "-dU", "-dumpbase", "-dumpbase-ext", "-dumpdir", "-w", "-rdynamic", "-s"]);
/** Options whose effect on preprocessing is not modelled. */
const UNSUPPORTED_NAMES = new Set(["-iprefix", "-iwithprefix", "-iwithprefixbefore", "-imultilib", "-imultiarch",
  "-iframework", "-F", "-Xpreprocessor", "-traditional-cpp"]);
const UNSUPPORTED_F = ["-fdirectives-only", "-fpreprocessed", "-fms-compatibility", "-fno-dollars-in-identifiers"];

/**
 * Reads a compile command (full argv, response files expanded, as in `CompilerFlags.args`).
 * @example ppOptions(["gcc", "-c", "a.c", "-O2", "-Iinc", "-DX=1"]).probeArgs // ["-O2"]
 */
export function ppOptions(args: readonly string[]): PpOptions {
  const out: PpOptions = {
    probeArgs: [], defines: [], imacros: [], includes: [],
    dirs: { quote: [], angle: [], system: [], after: [] },
  };
  const unsupported = (why: string) => {
    out.unsupported ??= why;
  };
  for (const a of scanArgs(args)) {
    if (a.kind === "input") continue;
    if (a.kind !== "flag") {
      unsupported(`option ${a.value} is not understood`);
      continue;
    }
    const { spec, value } = a;
    const name = spec.name;
    switch (spec.role) {
      case "quoteDir": out.dirs.quote.push(value); continue;
      case "angleDir":
        if (value === "-") unsupported("-I- is not modelled");
        out.dirs.angle.push(value);
        continue;
      case "systemDir": out.dirs.system.push(value); continue;
      case "afterDir": out.dirs.after.push(value); continue;
      case "include": (name.includes("imacros") ? out.imacros : out.includes).push(value); continue;
      case "define": out.defines.push({ kind: "D", value }); continue;
      case "undefine": out.defines.push({ kind: "U", value }); continue;
      case "preprocessorArgs": {
        const pp = splitPreprocessorArgs(value);
        out.defines.push(...pp.defines);
        const other = pp.rest.filter((r, i, all) => !/^-[DU]/.test(r) && !/^-[DU]$/.test(all[i - 1] ?? ""));
        if (other.length > 0) unsupported(`-Wp,${other.join(",")} is not modelled`);
        continue;
      }
      case "lang":
      case "compile":
      case "output":
      case "depOnly":
      case "depSideFile":
      case "depFile":
        continue;
      case "clangArg":
        unsupported(`-Xclang ${value} is not modelled`);
        continue;
      default:
        break;
    }
    if (spec.dropForDeps) continue;
    const argText = args.slice(a.index, a.index + a.count);
    const first = argText[0]!;
    if (UNSUPPORTED_NAMES.has(name) || (name === "-f" && UNSUPPORTED_F.some((p) => first.startsWith(p)))) {
      unsupported(`${first} is not modelled`);
      continue;
    }
    if (DROP_EXACT.has(name) || (DROP_PREFIX.some((p) => name === p) && !first.startsWith("-Wp,"))) continue;
    out.probeArgs.push(...argText);
  }
  return out;
}
