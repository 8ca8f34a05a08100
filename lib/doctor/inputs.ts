/**
 * `goma doctor inputs [--explain] [--compare] -- <compile command>`: what goma's include processor
 * (lib/include) finds for one compile — every file the preprocessor reads, one per line, the source
 * first — and, with `--explain`, why each one is read (`#include` from `includer:line`, `-include`,
 * the compiler's implicit pre-include, a `__has_include` probe). `--compare` also runs the compiler's
 * own `-M` and lists what either side has that the other lacks: the way to check the scanner on a
 * project before trusting it, and to report a bug with evidence.
 *
 * When the scanner gives up (a construct it does not model, or an error the compile itself would
 * report), it says why on stderr and exits 1: the proxy would run `-M` for that compile.
 */
import { discoverInputs, getCompilerInfo, parseFlags } from "../compiler/index.ts";
import { IncludeProcessor, ScanFallback, type Origin } from "../include/index.ts";
import { gomaCacheDir } from "../config/paths.ts";
import { GomaError } from "../util/status.ts";

/** Options of {@link doctorInputs}. */
export interface DoctorInputsOptions {
  /** Print why each file is read (tab-separated after the path). */
  explain?: boolean;
  /** Also run the compiler's `-M` and report the differences. */
  compare?: boolean;
  /** The compile's working directory (absolute). */
  cwd: string;
  /** The compile's environment (PATH finds the compiler; CPATH & co. add include dirs). */
  env: Record<string, string>;
}

/** What to print and the exit status: 0 listed (and, with compare, no file missing), 1 otherwise, 2 usage. */
export interface DoctorInputsResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Lists the inputs of one compile command.
 * @param command the compile command (`gcc -c a.c -o a.o`), argv[0] first.
 * @example await doctorInputs(["gcc", "-c", "a.c"], { cwd: "/src", env }) // { stdout: "/src/a.c\n/usr/include/stdc-predef.h\n…", code: 0 }
 */
export async function doctorInputs(command: string[], o: DoctorInputsOptions): Promise<DoctorInputsResult> {
  if (command.length === 0) return { stdout: "", stderr: "usage: goma doctor inputs [--explain] [--compare] -- gcc -c a.c -o a.o\n", code: 2 };
  const flags = parseFlags(command, o.cwd);
  if (flags.unsupported !== undefined) {
    return { stdout: "", stderr: `goma doctor inputs: goma compiles this command locally: ${flags.unsupported}\n`, code: 1 };
  }
  const cacheDir = gomaCacheDir(o.env);
  let files: Map<string, Origin>;
  try {
    const info = await getCompilerInfo(flags, o.cwd, o.env, cacheDir);
    try {
      files = await new IncludeProcessor().scanDetailed(flags, info, o.cwd, o.env, { lines: o.explain === true });
    } catch (e) {
      if (!(e instanceof ScanFallback)) throw e;
      return { stdout: "", stderr: `goma doctor inputs: the include scanner gives up (${e.kind}): ${e.message}\n  (the proxy runs the compiler's -M for this compile)\n`, code: 1 };
    }
    let stdout = "";
    for (const [file, origin] of files) stdout += o.explain ? `${file}\t${explain(origin)}\n` : `${file}\n`;
    if (!o.compare) return { stdout, stderr: "", code: 0 };
    const deps = new Set(await discoverInputs(flags, info, o.cwd, o.env));
    const missing = [...deps].filter((f) => !files.has(f));
    const extra = [...files.keys()].filter((f) => !deps.has(f));
    let stderr = `-M lists ${deps.size} files, the scanner ${files.size}: ${missing.length} missing, ${extra.length} extra\n`;
    for (const f of missing) stderr += `missing: ${f}\n`;
    for (const f of extra) stderr += `extra: ${f}\t${explain(files.get(f)!)}\n`;
    return { stdout, stderr, code: missing.length > 0 ? 1 : 0 };
  } catch (e) {
    return { stdout: "", stderr: `goma doctor inputs: ${GomaError.from(e).message}\n`, code: 1 };
  }
}

/** One line of explanation for a file's origin. */
export function explain(o: Origin): string {
  const at = o.from === undefined ? "" : ` from ${o.from}${o.line === undefined ? "" : `:${o.line}`}`;
  switch (o.how) {
    case "source": return "the source file";
    case "imacros": return "-imacros option";
    case "include-option": return "-include option";
    case "preinclude": return "included by the compiler itself before the source";
    case "dependency": return "read by the compiler without preprocessing (a sanitizer ignorelist, a -fprofile-list file)";
    case "has_include": return `found by __has_include${at} (must exist remotely too)`;
    default: return `#${o.how}${at}`;
  }
}
