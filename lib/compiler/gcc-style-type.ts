/**
 * The full half every gcc-style compiler type shares (gcc, clang): the gcc-style flag parser
 * (./parse-flags.ts), the CompilerInfo builder (./compiler-info.ts: -dumpversion, -E -v, -dM -E), goma's
 * include processor (lib/include, with the type's IncludeRules), the compiler's own `-M` listing and the
 * default ExecReqNormalizer (./normalize.ts). What differs between them is in their descriptors.
 */
import type { CompilerType, CompilerTypeDescriptor } from "./compiler-type.ts";
import { getCompilerInfo } from "./compiler-info.ts";
import { discoverInputs } from "./discover-inputs.ts";
import { normalizeExecReq } from "./normalize.ts";
import { parseFlags } from "./parse-flags.ts";

/** The whole type of the gcc-style driver `descriptor` describes. */
export function gccStyleType(descriptor: CompilerTypeDescriptor): CompilerType {
  return {
    ...descriptor,
    parseFlags,
    compilerInfo: getCompilerInfo,
    scanInputs: (flags, info, cwd, env, includes) => includes.scanInputs(flags, info, cwd, env),
    discoverInputs,
    normalizer: normalizeExecReq,
  };
}
