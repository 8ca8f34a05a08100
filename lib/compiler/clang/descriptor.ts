/**
 * The clang type's light half (see lib/compiler/compiler-type.ts): LLVM clang/clang++ drivers with target
 * prefixes and version suffixes (not clang-cl). Spec: Goma `GCCFlags` (clang shares it),
 * `client/cxx/clang_compiler_info_builder_helper.cc`.
 */
import type { CompilerTypeDescriptor } from "../compiler-type.ts";
import { gccStyleRootIndependent } from "../gcc-style-root.ts";
import { driverName, gccStyleDepFile, isCxxDriver } from "../gcc-style-names.ts";
import { GCC_STYLE_ENV } from "../gcc/descriptor.ts";

const NAME = driverName("clang|clang\\+\\+");

export const clangDescriptor = {
  name: "clang",
  load: () => import("./index.ts"),
  matches: (base: string) => NAME.test(base),
  commandName: (argv0: string) => (isCxxDriver(argv0) ? "clang++" : "clang"),
  remote: {
    // clang takes the most specific map and, among equal prefixes, the first given: ours goes last.
    prefixMap: "last",
    // clang takes its installation dir (where it looks for gcc's headers) from argv[0] as given.
    keepArgv0: true,
    depFile: gccStyleDepFile,
    forwardsEnv: (name: string) => GCC_STYLE_ENV.test(name),
    rootIndependent: gccStyleRootIndependent,
  },
  includeRules: {
    sysrootRelativeDirs: false,
    searchPath: "clang",
    includeNextFromRelativeStartsAtFirstDir: false,
    rawStringsInGnuC: false,
  },
  gccStyle: {
    answersVersion: (version: string) => /\bclang version\b/.test(version),
    subprogramNames(_lang: string, infoFlags: readonly string[]) {
      let integrated = true;
      for (const f of infoFlags) {
        if (f === "-fno-integrated-as" || f === "-no-integrated-as") integrated = false;
        if (f === "-fintegrated-as" || f === "-integrated-as") integrated = true;
      }
      return integrated ? [] : ["as"];
    },
  },
} as const satisfies CompilerTypeDescriptor;
