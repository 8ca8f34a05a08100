/**
 * The whole compiler types by registry name, for compiler_proxy (and doctor): the light registry
 * (./registry.ts) says which type claims a compiler; this maps it to the type's parser, CompilerInfo
 * builder, input lister and normalizer. Kept apart from the registry so that `goma cc`, goma server and
 * the embedded backend never load a flag parser. The record is typed by the registry's names: a type added
 * to the registry without its line here fails to typecheck.
 */
import type { CompilerType } from "./compiler-type.ts";
import { clang } from "./clang/index.ts";
import { fake } from "./fake/index.ts";
import { gcc } from "./gcc/index.ts";
import { compilerTypeOf, type CompilerTypeName } from "./registry.ts";

const IMPLEMENTATIONS: { readonly [K in CompilerTypeName]: CompilerType } = { clang, gcc, fake };

/**
 * The whole type that claims `argv0` (by basename), or undefined for an unknown compiler (run locally
 * with {@link unknownCompilerReason}'s reason).
 * @example compilerTypeFor("clang++-14")?.name // "clang"
 */
export function compilerTypeFor(argv0: string): CompilerType | undefined {
  const d = compilerTypeOf(argv0);
  return d === undefined ? undefined : IMPLEMENTATIONS[d.name as CompilerTypeName];
}

export { unknownCompilerReason } from "./registry.ts";
