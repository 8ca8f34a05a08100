/**
 * The shapes of goma's per-compile analysis for gcc and clang (C and C++): the parsed command line
 * ({@link CompilerFlags}), the identity of the compiler ({@link CompilerInfo}) and the files a remote
 * compile needs ({@link ToolchainFile}). compiler_proxy computes them before it sends a compile away.
 *
 * Other modules code against these exact shapes: change them only together with their users.
 *
 * Spec: Goma `lib/gcc_flags.cc` (GCCFlags), `client/compiler_info_data.proto` (CompilerInfoData);
 * reference/goma-protocol.md §4.2 (INIT, SETUP) and §5.
 */

/**
 * The name of the compiler type (lib/compiler/registry.ts) that claims a compiler: "gcc", "clang", "fake"
 * (Goma `CompilerFlagType`). Only the type's own code and the registry give it meaning; nothing else
 * compares it with a literal. "" in CompilerFlags when no type claims argv[0] (then `unsupported` is set).
 */
export type CompilerFamily = string;

/** The source language of a compile (Goma `CompilerInfoData.lang`: "c" or "c++"). */
export type Lang = "c" | "c++";

/**
 * One compile command, parsed (Goma `GCCFlags`). Paths are as given: relative to the compile's cwd, or
 * absolute. When {@link CompilerFlags.unsupported} is set the other fields are filled as far as parsing
 * got, and the proxy must run the command locally.
 */
export interface CompilerFlags {
  /** The full argv (argv[0] = compiler as invoked), with `@file` response files expanded. */
  args: string[];
  /** argv[0] as given: "gcc", "/usr/bin/clang++", "x86_64-linux-gnu-gcc-12". */
  compiler: string;
  /** The type that claims argv[0]'s basename (lib/compiler/registry.ts); "" when none does (then `unsupported` is set). */
  family: CompilerFamily;
  /**
   * The language of the input: from `-x` (in effect before the input), else from the input's extension
   * (.c → c; .cc .cpp .cxx .cp .CPP .C .c++ → c++), except that a C++ driver (g++, c++, clang++)
   * compiles a .c file as C++ as gcc and clang do; with no usable input, from the compiler name.
   */
  lang: Lang;
  /** Set when this compile must run locally: a human-readable reason ("no -c: link step"). */
  unsupported?: string;
  /** The one source file ("" when there is none, with `unsupported` set). */
  input: string;
  /** The object file: `-o`, else the input's basename with `.o`, in cwd. */
  output: string;
  /**
   * Every file the compile writes: the object, the dep file (`-MF`, `-Wp,-MD,f`, or `-MD`/`-MMD`'s
   * default `<object minus extension>.d`) and, with `-gsplit-dwarf`, `<object minus extension>.dwo`
   * (which clang skips when no debug info is requested).
   */
  outputs: string[];
  /** The dep file written by `-MD`/`-MMD`/`-Wp,-MD,f`, when there is one. */
  depFile?: string;
  /**
   * The flags that change CompilerInfo, as given and in order: `-m32`/`-m64`/`-mx32`, `--target=`/
   * `-target X`, `--sysroot`/`-isysroot`, `-nostdinc*`/`-nostdlibinc`, `-std=`, `-stdlib=`, `-B`, `-x`,
   * and also clang's `--gcc-toolchain`/`-resource-dir` (they move the system include dirs) and
   * `-f[no-]integrated-as` (it decides whether `as` is a subprogram). Part of the CompilerInfo cache key
   * and passed to the compiler when probing it (Goma `compiler_info_flags_`).
   */
  infoFlags: string[];
  /** `-iquote`, `-I`, `-isystem`, `-idirafter` directories, as given and in order. */
  includeDirs: { quote: string[]; angle: string[]; system: string[]; after: string[] };
  /** `-include` and `-imacros` files, as given and in order. */
  includes: string[];
  /** `-D` and `-U` (also from `-Wp,-D…`), in order; `value` is `NAME` or `NAME=VALUE`. */
  defines: { kind: "D" | "U"; value: string }[];
  /** `--sysroot` (last one), else `-isysroot`, as given. */
  sysroot?: string;
}

/** One file needed to run a compiler remotely (Goma `CompilerInfoData.ResourceInfo`, EXECUTABLE_BINARY). */
export interface ToolchainFile {
  /** Absolute path. */
  path: string;
  /** Lowercase hex SHA-256 of the content ("" for a symlink). */
  hash: string;
  /** Size in bytes (0 for a symlink). */
  size: number;
  /** Any execute bit is set (false for a symlink: a link has no mode of its own). */
  isExecutable: boolean;
  /** Set for a symlink: its readlink() value, as stored (may be relative to the link's directory). */
  symlinkTarget?: string;
}

/** A compiler subprogram (Goma `CompilerInfoData.SubprogramInfo`): cc1, cc1plus or as. */
export interface Subprogram {
  /** Absolute path as found (not resolved through symlinks). */
  path: string;
  /** Lowercase hex SHA-256 of the content (following symlinks). */
  hash: string;
  /** Size in bytes of the content. */
  size: number;
}

/**
 * What goma knows about one compiler for one language and set of info flags (Goma `CompilerInfoData`,
 * reference/goma-protocol.md §5). Built by running the compiler with `LC_ALL=C`; cached on disk.
 */
export interface CompilerInfo {
  /** Absolute path of the compiler as found (PATH lookup or cwd-relative), not resolved: /usr/bin/gcc. */
  localPath: string;
  /** `localPath` with every symlink resolved: /usr/bin/x86_64-linux-gnu-gcc-12. */
  realPath: string;
  /** Goma's `CommandSpec.name`: gcc, g++, clang or clang++. */
  name: string;
  /** The type the compiler answered as (its probe: for gcc-style drivers `--version` decides, "clang version" → clang). */
  family: CompilerFamily;
  lang: Lang;
  /** Goma's form: `<-dumpversion>[<first line of --version>]`, e.g. `12[gcc (Debian 12.2.0-14) 12.2.0]`. */
  version: string;
  /** `-dumpmachine` (with the info flags), e.g. x86_64-linux-gnu. */
  target: string;
  /** SHA-256 hex of realPath's content (`CommandSpec.binary_hash`). */
  hash: string;
  /** Size of realPath in bytes. */
  size: number;
  /** From `-E -v`: the `#include "..." search starts here` block, normalized absolute. */
  quoteIncludePaths: string[];
  /** From `-E -v`: the `#include <...> search starts here` block, in order, normalized absolute. */
  systemIncludePaths: string[];
  /** The `-dM -E` output for this language and these info flags. */
  predefinedMacros: string;
  /** gcc: cc1 or cc1plus, and as; clang: as only with -fno-integrated-as. */
  subprograms: Subprogram[];
  /**
   * Every file needed to run this compiler: localPath first (a symlink entry if it is one), each further
   * link of its chain, the real binary, then each subprogram with its own chain, then the shared
   * libraries these binaries load (`ldd`: libLLVM for clang, libisl/libmpfr for cc1), each with its
   * chain. No duplicates.
   */
  toolchain: ToolchainFile[];
}
