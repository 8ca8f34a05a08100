/**
 * Name patterns and the light dep-file scan shared by the gcc-style types (gcc, clang): both drivers
 * take the same command-line shape. Light: no imports, so `goma cc`, goma server and the embedded
 * backend can use it (the full flag parser is lib/compiler/parse-flags.ts, for compiler_proxy only).
 *
 * Spec: Goma `GCCFlags::GetCompilerName`; gcc manual "Preprocessor Options" (-MD, -MMD, -MF).
 */

/**
 * A driver name: an optional target or other prefix ending in "-" (`x86_64-linux-gnu-`, letters, digits,
 * `_` and `.` between dashes), one of `names`, and an optional version suffix (`-12`, `-14.0`).
 * @example driverName("gcc|g\\+\\+").test("x86_64-linux-gnu-g++-12") // true
 */
export function driverName(names: string): RegExp {
  return new RegExp(`^(?:[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*-)?(?:${names})(?:-[0-9]+(?:\\.[0-9]+)*)?$`);
}

/** A C++ driver's name (g++, c++, clang++ with prefix and version): such a driver compiles .c as C++. */
const CXX_DRIVER = driverName("g\\+\\+|c\\+\\+|clang\\+\\+");

/**
 * True when `argv0` names a C++ driver (g++, c++, clang++, with any target prefix or version suffix).
 * @example isCxxDriver("/usr/bin/clang++-14") // true
 */
export function isCxxDriver(argv0: string): boolean {
  return CXX_DRIVER.test(argv0.slice(argv0.lastIndexOf("/") + 1));
}

/**
 * The dep file a gcc-style compile writes, from its arguments alone (what goma server needs for the
 * wrapper's `GOMA_DEP_FILE`; the proxy's full parser decides the same, parse-flags.test.ts checks the
 * two agree): the last `-MF f`/`-MFf` or `-Wp,…,-MD,f`/`-Wp,…,-MMD,f`, when `-MD`/`-MMD` (or `-Wp,-MD`)
 * asks for one; without `-MF`, `<object minus extension>.d` (the object from `-o`, else the expected
 * output that ends in `.d`).
 *
 * @param args argv as sent in ExecReq.arg (argv[0] first).
 * @param expectedOutputs ExecReq.expected_output_files.
 * @returns the dep file as written (cwd-relative or absolute), or undefined.
 * @example gccStyleDepFile(["gcc", "-c", "a.c", "-o", "out/a.o", "-MD"], []) // "out/a.d"
 */
export function gccStyleDepFile(args: readonly string[], expectedOutputs: readonly string[]): string | undefined {
  let side = false;
  let mf: string | undefined, out: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-MD" || a === "-MMD") side = true;
    else if (a === "-MF") mf = args[++i];
    else if (a.startsWith("-MF")) mf = a.slice(3);
    else if (a === "-o") out = args[++i];
    else if (a.startsWith("-o") && a.length > 2) out = a.slice(2);
    else if (a.startsWith("-Wp,")) {
      const parts = a.slice(4).split(",");
      for (let j = 0; j < parts.length; j++) {
        if ((parts[j] === "-MD" || parts[j] === "-MMD") && j + 1 < parts.length) {
          mf = parts[++j];
          side = true;
        }
      }
    } else if (!a.startsWith("-") || a === "-") continue;
    else if (TAKES_VALUE.has(a)) i++; // skip the value, which may look like -MF or -o
  }
  if (!side) return undefined;
  if (mf !== undefined) return mf;
  if (out !== undefined) {
    // As path.extname: a dot that starts the basename is not an extension.
    const base = out.slice(out.lastIndexOf("/") + 1);
    const dot = base.lastIndexOf(".");
    return `${dot > 0 ? out.slice(0, out.length - base.length + dot) : out}.d`;
  }
  return expectedOutputs.find((f) => f.endsWith(".d"));
}

/** Separate-value flags whose value must not be read as a flag (`-Xclang -MF` is clang's, not ours). */
const TAKES_VALUE = new Set([
  "-Xclang", "-Xpreprocessor", "-Xassembler", "-Xlinker", "-MT", "-MQ", "-I", "-iquote", "-isystem", "-idirafter",
  "-include", "-imacros", "-D", "-U", "-x", "-target", "-isysroot", "--sysroot", "-arch", "-aux-info",
  "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-imultilib", "-L", "-l", "-T", "-u", "-z", "-B",
]);
