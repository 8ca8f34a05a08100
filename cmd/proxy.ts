/** `goma proxy start|stop|status|stats|run`: the local daemon (Goma's compiler_proxy). */
import { defineCommand } from "citty";
import { varsHelp } from "../lib/config/goma-env.ts";

const proxy = defineCommand({
  meta: { name: "proxy", description: "The local daemon (compiler_proxy)" },
  subCommands: {
    run: () => import("../lib/proxy/cli.ts").then((m) => m.runCommand),
    start: () => import("../lib/proxy/cli.ts").then((m) => m.startCommand),
    stop: () => import("../lib/proxy/cli.ts").then((m) => m.stopCommand),
    status: () => import("../lib/proxy/cli.ts").then((m) => m.statusCommand),
    stats: () => import("../lib/proxy/cli.ts").then((m) => m.statsCommand),
  },
});

/** `goma proxy --help` ends with the GOMA_* variables it reads (its only configuration) and their defaults. */
export default Object.assign(proxy, { helpEpilog: `ENVIRONMENT (Goma's names and meanings)\n\n${varsHelp()}` });
