/**
 * The gcc compiler type, whole: the light descriptor (./descriptor.ts) plus compiler_proxy's parts, all
 * shared with the other gcc-style type — the gcc-style flag parser (lib/compiler/parse-flags.ts), the
 * CompilerInfo builder (lib/compiler/compiler-info.ts: probes with -dumpversion, -E -v, -dM -E), goma's
 * include processor (lib/include, with this type's IncludeRules), the compiler's own `-M` listing and
 * the default ExecReqNormalizer (lib/compiler/normalize.ts).
 */
import type { CompilerType } from "../compiler-type.ts";
import { gccStyleType } from "../gcc-style-type.ts";
import { gccDescriptor } from "./descriptor.ts";

/** The gcc type (see the module comment). */
export const gcc: CompilerType = gccStyleType(gccDescriptor);

/** This folder's type, as its descriptor's `load()` hands it to the registry. */
export const compilerType: CompilerType = gcc;
