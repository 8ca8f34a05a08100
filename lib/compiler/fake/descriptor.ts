/**
 * The fake type's light half (Goma's Fake compiler type, `lib/fake_flags.*`, `client/fake/*`): a compiler
 * that is not one, so that the whole pipeline (goma cc → proxy → server → backend, the local fallback, the
 * action cache) can be tested without gcc, and the template for a new type (docs/adding-a-compiler-type.md).
 * The compiler itself is the script in ./compiler.ts, run as `fake-cc`.
 */
import type { CompilerTypeDescriptor } from "../compiler-type.ts";

/** The fake compiler's name: `fake-cc`, optionally with a version suffix (`fake-cc-2`). */
const NAME = /^fake-cc(?:-[0-9]+)?$/;

export const fakeDescriptor = {
  name: "fake",
  load: () => import("./index.ts"),
  matches: (base: string) => NAME.test(base),
  commandName: () => "fake-cc",
  remote: {
    // Its output names no paths: no prefix map, no client root, no dep-file mapping (its dep file names
    // the inputs as given, cwd-relative).
    prefixMap: "none",
    keepArgv0: false,
    depFile(args: readonly string[]) {
      const i = args.indexOf("-MF");
      return i > 0 ? args[i + 1] : undefined;
    },
    // No environment variable changes its output.
    forwardsEnv: () => false,
    // Not asked: with prefixMap "none" the Action names no client root anyway.
    rootIndependent: () => false,
  },
} as const satisfies CompilerTypeDescriptor;
