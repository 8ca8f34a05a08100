/**
 * The non-`cc` subcommands, dispatched with citty. Each subcommand lives in its own thin file under cmd/
 * and is loaded lazily, so `goma server` never parses the proxy's code and vice versa.
 */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../lib/util/version.ts";

const main_ = defineCommand({
  meta: {
    name: "goma",
    version: VERSION,
    description: "Distributed C/C++ compilation: gomacc, compiler_proxy and remoteexec_proxy in one binary",
  },
  subCommands: {
    cc: () => import("./cc-help.ts").then((m) => m.default),
    proxy: () => import("./proxy.ts").then((m) => m.default),
    server: () => import("./server.ts").then((m) => m.default),
    auth: () => import("./auth.ts").then((m) => m.default),
    doctor: () => import("./doctor.ts").then((m) => m.default),
    bench: () => import("./bench.ts").then((m) => m.default),
  },
});

/** Runs the CLI with `argv` (without the program name). */
export async function main(argv: string[]): Promise<void> {
  await runMain(main_, { rawArgs: argv });
}
