/**
 * Parses one gcc/clang compile command into {@link CompilerFlags} and decides whether goma may run it
 * remotely. The first reason to run locally wins and is kept in `unsupported`.
 *
 * Spec: Goma `lib/gcc_flags.cc` (GCCFlags constructor);
 * reference/goma-protocol.md §4.2 (INIT: "should fallback").
 */
import * as path from "node:path";
import { isCxxDriver } from "./gcc-style-names.ts";
import { compilerTypeOf, unknownCompilerReason } from "./registry.ts";
import { argsOf, scanArgs, splitPreprocessorArgs } from "./flag-scan.ts";
import { expandResponseFiles } from "./response-file.ts";
import type { CompilerFlags, Lang } from "./types.ts";

const C_EXT = new Set([".c"]);
const CXX_EXT = new Set([".cc", ".cpp", ".cxx", ".cp", ".CPP", ".C", ".c++"]);

/**
 * Parses a gcc-style (gcc or clang) command line (Goma `GCCFlags`): the flag parser of the gcc and
 * clang types (lib/compiler/gcc, lib/compiler/clang). `family` is the registry's type for argv[0]
 * ("" for a compiler no type claims, which is unsupported).
 *
 * Never throws: anything goma cannot or should not compile remotely yields a result with
 * `unsupported` set to a human-readable reason, e.g. "no -c: link step", "-E: preprocess only, …",
 * "unknown flag --foo", "multiple input files: a.c b.c", "cannot read response file x.rsp: ENOENT".
 *
 * @param argv the command line; argv[0] is the compiler as invoked. `@file` arguments are expanded.
 * @param cwd the compile's working directory (for response files; other paths are kept as given).
 * @returns the parsed flags. Paths in it are as given (cwd-relative or absolute).
 * @example
 * parseFlags(["gcc", "-c", "a.c", "-o", "out/a.o", "-MD"], "/src").outputs // ["out/a.o", "out/a.d"]
 */
export function parseFlags(argv: string[], cwd: string): CompilerFlags {
  const compiler = argv[0] ?? "";
  const type = compilerTypeOf(compiler);
  const flags: CompilerFlags = {
    args: [...argv], compiler, family: type?.name ?? "", lang: "c", input: "", output: "", outputs: [],
    infoFlags: [], includeDirs: { quote: [], angle: [], system: [], after: [] }, includes: [], defines: [],
  };
  const reasons: string[] = [];
  if (argv.length === 0) reasons.push("empty command line");
  else if (!type) reasons.push(unknownCompilerReason(compiler));
  else if (!type.gccStyle) reasons.push(`compiler ${JSON.stringify(path.basename(compiler))} is of type ${type.name}, not a gcc-style driver`);

  const expanded = expandResponseFiles(argv, cwd);
  if ("error" in expanded) {
    flags.unsupported = reasons[0] ?? expanded.error;
    return flags;
  }
  const args = (flags.args = expanded.args);

  let compile = false, depOnly = false, depSideFile = false, splitDwarf = false;
  let output: string | undefined, depFile: string | undefined, isysroot: string | undefined;
  let xLang: string | undefined; // the -x in effect; undefined or "none" = by extension
  const inputs: { name: string; xLang: string | undefined }[] = [];

  for (const a of scanArgs(args)) {
    if (a.kind === "input") {
      inputs.push({ name: a.value, xLang });
      continue;
    }
    if (a.kind === "unknown") {
      reasons.push(`unknown flag ${a.value}`);
      continue;
    }
    if (a.kind === "missingValue") {
      reasons.push(`missing argument to ${a.spec.name}`);
      continue;
    }
    const { spec, value } = a;
    if (spec.unsupported) reasons.push(spec.unsupported);
    if (spec.info) flags.infoFlags.push(...argsOf(args, a));
    switch (spec.role) {
      case "compile": compile = true; break;
      case "depOnly": depOnly = true; break;
      case "depSideFile": depSideFile = true; break;
      case "depFile": depFile = value; break;
      case "output": output = value; break;
      case "lang": xLang = value; break;
      case "quoteDir": flags.includeDirs.quote.push(value); break;
      case "angleDir": flags.includeDirs.angle.push(value); break;
      case "systemDir": flags.includeDirs.system.push(value); break;
      case "afterDir": flags.includeDirs.after.push(value); break;
      case "include": flags.includes.push(value); break;
      case "define": flags.defines.push({ kind: "D", value }); break;
      case "undefine": flags.defines.push({ kind: "U", value }); break;
      case "sysroot": flags.sysroot = value; break;
      case "isysroot": isysroot = value; break;
      case "splitDwarf": splitDwarf = value !== "single"; break;
      case "noSplitDwarf": splitDwarf = false; break;
      case "preprocessorArgs": {
        const pp = splitPreprocessorArgs(value);
        if (pp.depFile !== undefined) {
          depFile = pp.depFile;
          depSideFile = true;
        }
        flags.defines.push(...pp.defines);
        break;
      }
      case "clangArg":
        if (/^-(load|add-plugin|plugin)$/.test(value)) reasons.push(`-Xclang ${value}: clang plugins are not supported`);
        break;
      case "plain": break;
    }
  }
  if (flags.sysroot === undefined && isysroot !== undefined) flags.sysroot = isysroot;

  // The language and the input.
  const cxxDriver = isCxxDriver(compiler);
  flags.lang = cxxDriver ? "c++" : "c";
  if (depOnly && !depSideFile) reasons.push("-M/-MM without -MD/-MMD: dependency listing only, does not compile");
  if (!compile) reasons.push("no -c: link step (or another step that does not compile to an object)");
  if (inputs.length === 0) reasons.push("no input file");
  if (inputs.length > 1) reasons.push(`multiple input files: ${inputs.map((i) => i.name).join(" ")}`);
  const first = inputs[0];
  if (first) {
    flags.input = first.name;
    const lang = langOf(first.name, first.xLang, cxxDriver);
    if (first.name === "-") reasons.push("input from stdin (-)");
    else if (typeof lang === "string") flags.lang = lang;
    else reasons.push(lang.reason);
  }

  // Outputs.
  if (output === "-") reasons.push("-o -: object written to stdout");
  flags.output = output ?? (flags.input ? `${path.parse(flags.input).name}.o` : "");
  if (depSideFile) {
    flags.depFile = depFile ?? `${stripExt(flags.output)}.d`;
  }
  flags.outputs = [flags.output];
  if (flags.depFile !== undefined) flags.outputs.push(flags.depFile);
  if (splitDwarf) flags.outputs.push(`${stripExt(flags.output)}.dwo`);
  if (reasons.length > 0) flags.unsupported = reasons[0];
  return flags;
}

/** The language of `input` under `-x xLang` (undefined or "none": by extension), or why it is not C/C++. */
function langOf(input: string, xLang: string | undefined, cxxDriver: boolean): Lang | { reason: string } {
  if (xLang !== undefined && xLang !== "none") {
    if (xLang === "c" || xLang === "c++") return xLang;
    return { reason: `input ${input} is -x ${xLang}, not C or C++ source` };
  }
  const ext = path.extname(input);
  if (C_EXT.has(ext)) return cxxDriver ? "c++" : "c";
  if (CXX_EXT.has(ext)) return "c++";
  return { reason: `input ${input} is not C or C++ source (by its extension)` };
}

/** `out/a.o` → `out/a`; `out/a` → `out/a` (gcc replaces the object's suffix for .d and .dwo). */
function stripExt(file: string): string {
  const ext = path.extname(file);
  return ext ? file.slice(0, -ext.length) : file;
}
