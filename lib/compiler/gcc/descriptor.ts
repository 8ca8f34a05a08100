/**
 * The gcc type's light half (see lib/compiler/compiler-type.ts): GNU gcc/g++ drivers, also as `cc`/`c++`,
 * with target prefixes and version suffixes. What `goma cc`, goma server and the embedded backend know
 * of gcc. Spec: Goma `GCCFlags`, `client/cxx/gcc_compiler_info_builder.cc`.
 */
import type { CompilerTypeDescriptor } from "../compiler-type.ts";
import { gccStyleRootIndependent } from "../gcc-style-root.ts";
import { driverName, gccStyleDepFile, isCxxDriver } from "../gcc-style-names.ts";

const NAME = driverName("gcc|g\\+\\+|cc|c\\+\\+");
/** Goma's "server-important" environment of a gcc-style compile, besides the locale. */
export const GCC_STYLE_ENV = /^(LIBRARY_PATH|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|OBJC_INCLUDE_PATH|DEPENDENCIES_OUTPUT|SUNPRO_DEPENDENCIES|SOURCE_DATE_EPOCH)$/;

export const gccDescriptor = {
  name: "gcc",
  load: () => import("./index.ts"),
  matches: (base: string) => NAME.test(base),
  commandName: (argv0: string) => (isCxxDriver(argv0) ? "g++" : "gcc"),
  remote: {
    // gcc applies the last -ffile-prefix-map given: ours goes first so that the user's win.
    prefixMap: "first",
    // gcc finds cc1 from its real argv[0] and gives the same object by either path.
    keepArgv0: false,
    depFile: gccStyleDepFile,
    forwardsEnv: (name: string) => GCC_STYLE_ENV.test(name),
    rootIndependent: gccStyleRootIndependent,
  },
  includeRules: {
    sysrootRelativeDirs: true,
    searchPath: "cpp",
    includeNextFromRelativeStartsAtFirstDir: true,
    rawStringsInGnuC: true,
  },
  gccStyle: {
    // Every gcc-style driver that is not a more specific type (clang) answers as gcc.
    answersVersion: () => true,
    subprogramNames: (lang: string) => [lang === "c++" ? "cc1plus" : "cc1", "as"],
  },
} as const satisfies CompilerTypeDescriptor;
