/**
 * The registry of compiler families goma handles: how to recognize each from argv[0], what Goma calls it
 * (`CommandSpec.name`) and which subprograms it runs. This is the only place that tells gcc and clang
 * apart; the flag table is shared because both drivers take the same options (Goma parses both with one
 * `GCCFlags` class).
 *
 * Spec: Goma `GCCFlags::GetCompilerName`, `lib/compiler_flag_type_specific.cc`; reference/style.md §5.2.
 */
import * as path from "node:path";
import type { CompilerFamily, Lang } from "./types.ts";

/** What goma needs to know about one compiler family. */
export interface FamilyDescriptor {
  family: CompilerFamily;
  /** True when `base` (argv[0]'s basename) names a driver of this family. */
  matches(base: string): boolean;
  /** Goma's `CommandSpec.name` for a driver of this family: "gcc"/"g++" or "clang"/"clang++". */
  commandName(cxxDriver: boolean): string;
  /**
   * The programs `-print-prog-name=` is asked for: gcc runs cc1 (C) or cc1plus (C++) and `as`; clang
   * runs nothing outside itself unless the integrated assembler is off (the last of
   * `-f[no-]integrated-as`/`-[no-]integrated-as` in `infoFlags` wins).
   */
  subprogramNames(lang: Lang, infoFlags: readonly string[]): string[];
}

/** An optional target or any prefix ending in "-", then the name, then an optional "-<version>". */
const GCC_NAME = /^(?:.+-)?(gcc|g\+\+|cc|c\+\+)(?:-\d+(?:\.\d+)*)?$/;
const CLANG_NAME = /^(?:.+-)?(clang|clang\+\+)(?:-\d+(?:\.\d+)*)?$/;
const CXX_DRIVER = /^(?:.+-)?(g\+\+|c\+\+|clang\+\+)(?:-\d+(?:\.\d+)*)?$/;

const clang: FamilyDescriptor = {
  family: "clang",
  matches: (base) => CLANG_NAME.test(base),
  commandName: (cxx) => (cxx ? "clang++" : "clang"),
  subprogramNames(_lang, infoFlags) {
    let integrated = true;
    for (const f of infoFlags) {
      if (f === "-fno-integrated-as" || f === "-no-integrated-as") integrated = false;
      if (f === "-fintegrated-as" || f === "-integrated-as") integrated = true;
    }
    return integrated ? [] : ["as"];
  },
};

const gcc: FamilyDescriptor = {
  family: "gcc",
  matches: (base) => GCC_NAME.test(base),
  commandName: (cxx) => (cxx ? "g++" : "gcc"),
  subprogramNames: (lang) => [lang === "c++" ? "cc1plus" : "cc1", "as"],
};

/**
 * The families in match order: first match wins. clang comes first so that no future loosening of the
 * gcc pattern (which accepts "cc") can claim a clang driver.
 */
export const FAMILIES: readonly FamilyDescriptor[] = [clang, gcc];

/**
 * The family whose driver `argv0` names, by basename, or undefined.
 * @example familyOf("/usr/bin/x86_64-linux-gnu-gcc-12")?.family // "gcc"
 */
export function familyOf(argv0: string): FamilyDescriptor | undefined {
  const base = path.basename(argv0);
  return FAMILIES.find((f) => f.matches(base));
}

/** The descriptor of a family. @internal */
export function descriptorOf(family: CompilerFamily): FamilyDescriptor {
  return family === "clang" ? clang : gcc;
}

/**
 * True when `argv0` names a C++ driver (g++, c++, clang++, with any target prefix or version suffix):
 * such a driver compiles .c files as C++.
 * @example isCxxDriver("clang++-14") // true
 */
export function isCxxDriver(argv0: string): boolean {
  return CXX_DRIVER.test(path.basename(argv0));
}

/**
 * Goma's `CommandSpec.name` for `argv0` as a driver of `family`: the basename without target prefix or
 * version ("x86_64-linux-gnu-g++-12" → "g++", "cc" → "gcc", "c++" → "g++").
 */
export function commandNameOf(argv0: string, family: CompilerFamily): string {
  return descriptorOf(family).commandName(isCxxDriver(argv0));
}
