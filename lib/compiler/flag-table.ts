/**
 * The declarative table of gcc/clang driver options goma understands, after Goma's `lib/gcc_flags.cc`
 * (`AddBoolFlag`, `AddPrefixFlag`, `AddFlag`). Each row says how the option takes its value, what it
 * means to goma (its role), whether it changes CompilerInfo, whether input discovery drops it, and why
 * it forces a local compile if it does.
 *
 * It is one table on purpose, however long it grows: split up, it would hide which option wins.
 * An option not in the table makes the compile unsupported (run locally): goma is conservative about
 * options whose value it cannot tell apart from an input file.
 *
 * Spec: gcc manual "Option Summary"; clang `Options.td`; Goma `lib/gcc_flags.cc`.
 */

/**
 * How an option carries its value.
 * - `bool`: exact match, no value (`-c`).
 * - `joined`: matched as a prefix, the rest of the argument is the value (`-std=c11`, `-fPIC`).
 * - `separate`: exact match, the value is the next argument (`-target x86_64-linux-gnu`).
 * - `joinedOrSeparate`: `-Idir` or `-I dir`.
 */
export type FlagForm = "bool" | "joined" | "separate" | "joinedOrSeparate";

/** What an option means to goma's analysis. Options with no special meaning have role `plain`. */
export type FlagRole =
  | "plain" | "compile" | "depOnly" | "depSideFile" | "depFile" | "output" | "lang"
  | "quoteDir" | "angleDir" | "systemDir" | "afterDir" | "include" | "define" | "undefine"
  | "sysroot" | "isysroot" | "splitDwarf" | "noSplitDwarf" | "preprocessorArgs" | "clangArg";

/** One row of the table. */
export interface FlagSpec {
  /** The option as spelled, dashes included: "-I", "--sysroot=". */
  name: string;
  form: FlagForm;
  role: FlagRole;
  /** Changes CompilerInfo: copied to `CompilerFlags.infoFlags` (Goma `compiler_info_flags_`). */
  info?: boolean;
  /** Removed from the command that lists the inputs with `-M` (outputs and dependency options). */
  dropForDeps?: boolean;
  /** Set when the option makes goma compile locally: the reason shown to the user. */
  unsupported?: string;
}

const NOT_COMPILE = "does not compile to an object file";
const EXTRA_OUTPUT = "writes files goma does not track";
const PROFILE = "profile data is read or written outside the tracked inputs and outputs";

function b(name: string, role: FlagRole = "plain", extra: Partial<FlagSpec> = {}): FlagSpec {
  return { name, form: "bool", role, ...extra };
}
function j(name: string, role: FlagRole = "plain", extra: Partial<FlagSpec> = {}): FlagSpec {
  return { name, form: "joined", role, ...extra };
}
function s(name: string, role: FlagRole = "plain", extra: Partial<FlagSpec> = {}): FlagSpec {
  return { name, form: "separate", role, ...extra };
}
function js(name: string, role: FlagRole = "plain", extra: Partial<FlagSpec> = {}): FlagSpec {
  return { name, form: "joinedOrSeparate", role, ...extra };
}
const info = { info: true } as const;
const drop = { dropForDeps: true } as const;
const no = (reason: string): Partial<FlagSpec> => ({ unsupported: reason });

/**
 * Every option goma recognizes. Matching (see flag-scan.ts): an exact match of a `bool`, `separate` or
 * `joinedOrSeparate` row wins; otherwise the longest `joined`/`joinedOrSeparate` row that is a prefix.
 * So "-include-pch" beats "-include", "-fplugin=" beats "-f", "-MF" beats nothing shorter.
 */
export const FLAG_TABLE: readonly FlagSpec[] = [
  // --- What the driver does. Only `-c` (compile to an object) goes remote.
  b("-c", "compile", drop),
  b("-E", "plain", no(`-E: preprocess only, ${NOT_COMPILE}`)),
  b("-S", "plain", no(`-S: assembly output, ${NOT_COMPILE}`)),
  b("-fsyntax-only", "plain", no(`-fsyntax-only: ${NOT_COMPILE}`)),
  b("-v", "plain", no("-v: prints the driver's commands")),
  b("-###", "plain", no("-###: prints the driver's commands")),
  j("-print-", "plain", no("-print-*: asks the driver, does not compile")),
  j("--print-", "plain", no("--print-*: asks the driver, does not compile")),
  j("-dump", "plain", no("-dump*: asks the driver, does not compile")),
  s("-dumpbase"), s("-dumpbase-ext"), s("-dumpdir"),
  b("-dM"), b("-dD"), b("-dN"), b("-dI"), b("-dU"),

  // --- Output and dependency files.
  js("-o", "output", drop),
  b("-M", "depOnly", drop), b("-MM", "depOnly", drop),
  b("-MD", "depSideFile", drop), b("-MMD", "depSideFile", drop),
  js("-MF", "depFile", drop), js("-MT", "plain", drop), js("-MQ", "plain", drop), b("-MP", "plain", drop),
  b("-MG", "plain", no("-MG: missing headers are allowed, so the inputs cannot be known")),
  js("-MJ", "plain", no(`-MJ: ${EXTRA_OUTPUT} (compilation database entry)`)),
  j("-Wp,", "preprocessorArgs"),
  b("-gsplit-dwarf", "splitDwarf", drop), j("-gsplit-dwarf=", "splitDwarf", drop),
  b("-gno-split-dwarf", "noSplitDwarf", drop),
  j("-save-temps", "plain", no(`-save-temps: ${EXTRA_OUTPUT}`)),
  j("--save-temps", "plain", no(`--save-temps: ${EXTRA_OUTPUT}`)),
  b("-fstack-usage", "plain", no(`-fstack-usage: ${EXTRA_OUTPUT} (.su)`)),
  j("-fcallgraph-info", "plain", no(`-fcallgraph-info: ${EXTRA_OUTPUT} (.ci)`)),
  j("-fdump-", "plain", no(`-fdump-*: ${EXTRA_OUTPUT} (compiler dumps)`)),
  j("-ftime-trace", "plain", no(`-ftime-trace: ${EXTRA_OUTPUT} (trace JSON)`)),
  j("-fsave-optimization-record", "plain", no(`-fsave-optimization-record: ${EXTRA_OUTPUT}`)),
  j("-foptimization-record-file=", "plain", no(`-foptimization-record-file=: ${EXTRA_OUTPUT}`)),
  s("-aux-info", "plain", no(`-aux-info: ${EXTRA_OUTPUT}`)),

  // --- Language.
  js("-x", "lang", info),

  // --- Include search and forced includes.
  js("-I", "angleDir"), js("-iquote", "quoteDir"), js("-isystem", "systemDir"), js("-idirafter", "afterDir"),
  js("-include", "include"), s("--include", "include"), js("-imacros", "include"), s("--imacros", "include"),
  s("-include-pch", "plain", no("-include-pch: precompiled headers are not supported")),
  js("-iprefix"), js("-iwithprefix"), js("-iwithprefixbefore"), js("-imultilib"), js("-imultiarch"),
  js("-iframework"), js("-F"),
  b("-nostdinc", "plain", info), b("-nostdinc++", "plain", info), b("-nostdlibinc", "plain", info),

  // --- Macros.
  js("-D", "define"), js("-U", "undefine"), b("-undef"),

  // --- Target, sysroot and toolchain location: these change CompilerInfo.
  b("-m32", "plain", info), b("-m64", "plain", info), b("-mx32", "plain", info),
  j("--target=", "plain", info), s("-target", "plain", info),
  j("--sysroot=", "sysroot", info), s("--sysroot", "sysroot", info),
  js("-isysroot", "isysroot", info),
  j("--gcc-toolchain=", "plain", info), s("--gcc-toolchain", "plain", info), s("-gcc-toolchain", "plain", info),
  s("-resource-dir", "plain", info), j("-resource-dir=", "plain", info),
  js("-B", "plain", info),
  j("-std=", "plain", info), j("--std=", "plain", info),
  j("-stdlib=", "plain", info), j("--stdlib=", "plain", info),
  b("-fintegrated-as", "plain", info), b("-fno-integrated-as", "plain", info),
  b("-integrated-as", "plain", info), b("-no-integrated-as", "plain", info),
  b("-no-canonical-prefixes"),

  // --- Options that take a separate value (so the value is not mistaken for an input).
  s("-Xclang", "clangArg"), s("-mllvm"), s("-Xpreprocessor"), s("-Xassembler"), s("-Xlinker"),
  s("-arch"), s("--param"), j("--param="), s("-fdebug-compilation-dir"),
  js("-L"), js("-l"),

  // --- Things goma cannot reproduce remotely.
  j("-fplugin", "plain", no("-fplugin: compiler plugins are not supported")),
  j("-specs=", "plain", no("-specs: spec files are not supported")),
  j("--specs=", "plain", no("-specs: spec files are not supported")),
  s("-specs", "plain", no("-specs: spec files are not supported")),
  s("--specs", "plain", no("-specs: spec files are not supported")),
  s("-wrapper", "plain", no("-wrapper: the driver runs a wrapper program")),
  j("-fprofile-", "plain", no(`-fprofile-*: ${PROFILE}`)),
  j("-fauto-profile", "plain", no(`-fauto-profile: ${PROFILE}`)),
  b("--coverage", "plain", no(`--coverage: ${PROFILE}`)),
  b("-ftest-coverage", "plain", no(`-ftest-coverage: ${PROFILE}`)),
  j("-fthinlto-index=", "plain", no("-fthinlto-index=: reads a ThinLTO index goma does not track")),
  j("-fmodule", "plain", no("-fmodules*: clang/C++ modules are not supported")),

  // --- Value-less families (Goma AddPrefixFlag): kept as they are, no meaning to goma.
  // -fdebug-prefix-map=, -ffile-prefix-map=, -fmacro-prefix-map= and -frandom-seed= are among them.
  j("-f"), j("-W"), j("-m"), j("-O"), j("-g"), j("-pedantic"),
  b("-w"), b("-ansi"), b("-pthread"), b("-pipe"), b("-H"), b("-P"), b("-C"), b("-CC"),
  b("-trigraphs"), b("-traditional-cpp"), b("-Qunused-arguments"), b("-Qn"), b("-Qy"),
  b("-nostdlib"), b("-nodefaultlibs"), b("-nostartfiles"), b("-static"), b("-shared"),
  b("-pie"), b("-no-pie"), b("-rdynamic"), b("-s"), b("-p"), b("-pg"), b("-time"),
];

/** Rows matched exactly (bool, separate, joinedOrSeparate), by name. @internal */
export const EXACT_FLAGS: ReadonlyMap<string, FlagSpec> = new Map(
  FLAG_TABLE.filter((f) => f.form !== "joined").map((f) => [f.name, f]),
);

/** Rows matched as prefixes (joined, joinedOrSeparate), longest first. @internal */
export const PREFIX_FLAGS: readonly FlagSpec[] = FLAG_TABLE
  .filter((f) => f.form === "joined" || f.form === "joinedOrSeparate")
  .sort((x, y) => y.name.length - x.name.length);
