/** `goma proxy start|stop|status|stats|run`: the local daemon (Goma's compiler_proxy). */
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "proxy", description: "The local daemon (compiler_proxy)" },
  subCommands: {
    run: () => import("../lib/proxy/cli.ts").then((m) => m.runCommand),
    start: () => import("../lib/proxy/cli.ts").then((m) => m.startCommand),
    stop: () => import("../lib/proxy/cli.ts").then((m) => m.stopCommand),
    status: () => import("../lib/proxy/cli.ts").then((m) => m.statusCommand),
    stats: () => import("../lib/proxy/cli.ts").then((m) => m.statsCommand),
  },
});
