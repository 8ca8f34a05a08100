/**
 * goma — distributed C/C++ compilation in one binary.
 *
 * The entry point is deliberately tiny: it imports nothing heavy and loads each subcommand with a
 * dynamic import, so that `goma cc` (run once per compile) stays at a few milliseconds
 * (reference/toolchain.md §4: with `--splitting`, only the chunks a subcommand needs are parsed).
 * Invoked through a symlink named `gomacc` it behaves as `goma cc` (Goma's gomacc); through a link named
 * after a compiler (`gcc`, `clang++-14` …: masquerade mode, lib/cc/masquerade.ts) as `goma cc <that name>`.
 */
import { VERSION } from "../lib/util/version.ts";
import { isMasqueradeName } from "../lib/cc/masquerade.ts";

const invokedAs = (process.argv0 || "").split("/").pop() ?? "";
const args = process.argv.slice(2);

if (invokedAs === "gomacc") {
  const { runCc } = await import("./cc.ts");
  await runCc(args);
} else if (invokedAs !== "goma" && isMasqueradeName(invokedAs)) {
  const { runCc } = await import("./cc.ts");
  await runCc([invokedAs, ...args], { masquerade: true });
} else {
  const sub = args[0];
  switch (sub) {
    case "cc": {
      const { runCc } = await import("./cc.ts");
      await runCc(args.slice(1));
      break;
    }
    case "--version":
    case "-V":
    case "version":
      process.stdout.write(`goma ${VERSION}\n`);
      break;
    default: {
      const { main } = await import("./cli.ts");
      await main(args);
    }
  }
}
