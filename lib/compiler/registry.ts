/**
 * The one registry of compiler types (Goma's `CompilerTypeSpecificCollection`, reference/style.md §5.2):
 * an ordered list of each type's light descriptor (lib/compiler/compiler-type.ts). Adding a type is a
 * folder `lib/compiler/<type>/` plus one line here: the descriptor's `load()` brings the full type to
 * compiler_proxy (implementations.ts).
 *
 * Light: `goma cc` (masquerade names), goma server (remote policy) and the embedded backend (which
 * programs are compilers) import this; it reaches no flag parser, protobufjs or node:crypto.
 */
import type { CompilerTypeDescriptor, IncludeRules } from "./compiler-type.ts";
import { clangDescriptor } from "./clang/descriptor.ts";
import { fakeDescriptor } from "./fake/descriptor.ts";
import { gccDescriptor } from "./gcc/descriptor.ts";

/**
 * The types in match order: first match wins, so a more specific name pattern comes before gcc's, which
 * takes any `<prefix>-cc`: fake (`fake-cc`) and clang (no loosening of gcc's pattern may claim a clang
 * driver). gcc comes after every other gcc-style type because its CompilerInfo probe is the catch-all:
 * a driver that answers `--version` as no more specific type is gcc (lib/compiler/probe-compiler.ts).
 */
const TYPES = [
  fakeDescriptor,
  clangDescriptor,
  gccDescriptor,
] as const satisfies readonly CompilerTypeDescriptor[];

/** The registered types, in match order (see above). */
export const COMPILER_TYPES: readonly CompilerTypeDescriptor[] = TYPES;

/** The name of a registered type: "fake" | "clang" | "gcc". */
export type CompilerTypeName = (typeof TYPES)[number]["name"];

const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/**
 * The type that claims `argv0` (a path or a name; matched by basename), or undefined: an unknown
 * compiler, which goma runs locally ({@link unknownCompilerReason}), never as gcc.
 * @example compilerTypeOf("/usr/bin/x86_64-linux-gnu-g++-12")?.name // "gcc"
 */
export function compilerTypeOf(argv0: string): CompilerTypeDescriptor | undefined {
  const base = baseOf(argv0);
  return COMPILER_TYPES.find((t) => t.matches(base));
}

/** The type named `name` (CompilerFlags/CompilerInfo `family`), or undefined. */
export function compilerTypeNamed(name: string): CompilerTypeDescriptor | undefined {
  return COMPILER_TYPES.find((t) => t.name === name);
}

/**
 * True when some type claims `name` as a compiler: `goma cc` masquerades under it, and the embedded
 * backend's toolchain policy runs a program of that name (lib/backend/command-policy.ts).
 * @example isCompilerName("clang++-14") // true
 */
export function isCompilerName(name: string): boolean {
  return compilerTypeOf(name) !== undefined;
}

/** Why a compile whose argv[0] no type claims runs locally (the task's and dashboard's reason). */
export function unknownCompilerReason(argv0: string): string {
  return `unknown compiler ${JSON.stringify(baseOf(argv0))}: no compiler type claims it (${COMPILER_TYPES.map((t) => t.name).join(", ")})`;
}

/** The include processor's rules of the type named `name`, or undefined when it has none. */
export function includeRulesOf(name: string): IncludeRules | undefined {
  return compilerTypeNamed(name)?.includeRules;
}
