/**
 * The whole compiler types, for compiler_proxy (and doctor): the registry (./registry.ts) says which type
 * claims a compiler; its descriptor's `load()` brings the type's full half (parser, CompilerInfo builder,
 * input lister, normalizer) from the type's folder on first use. `goma cc`, goma server and the embedded
 * backend import only the registry and never call `load()`, so they never load a flag parser.
 */
import type { CompilerType } from "./compiler-type.ts";
import { compilerTypeOf } from "./registry.ts";

const loaded = new Map<string, Promise<CompilerType>>();

/**
 * The whole type that claims `argv0` (by basename), or undefined for an unknown compiler (run locally
 * with {@link unknownCompilerReason}'s reason). Each type's full half is loaded once.
 * @example (await compilerTypeFor("clang++-14"))?.name // "clang"
 * @throws nothing of its own; a type whose folder fails to load rejects with that error.
 */
export async function compilerTypeFor(argv0: string): Promise<CompilerType | undefined> {
  const d = compilerTypeOf(argv0);
  if (d === undefined) return undefined;
  let t = loaded.get(d.name);
  if (!t) {
    t = d.load().then((m) => m.compilerType);
    loaded.set(d.name, t);
  }
  return t;
}

export { unknownCompilerReason } from "./registry.ts";
