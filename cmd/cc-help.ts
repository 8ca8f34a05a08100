/** `goma cc --help`: the wrapper itself never goes through citty (it must stay lean); this is its help. */
import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "cc",
    description:
      "Compile through goma: `goma cc <compiler> <args…>` (or a symlink named gomacc). Hands the compile to " +
      "the local `goma proxy`, or runs the compiler locally when the proxy is absent or the step is not remotable.",
  },
  run() {
    process.stdout.write("usage: goma cc <compiler> <args…>\n");
  },
});
