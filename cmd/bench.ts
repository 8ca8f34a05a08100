/**
 * `goma bench`: builds real projects cold and warm with local gcc, goma, ccache and sccache (each with a
 * private cache), round by round, and reports wall and CPU time, ratios against local, per-hit latency,
 * goma's stage times, client CPU per remote compile, cross-checkout hits and daemon memory
 * (lib/bench/run.ts). The flags are validated by lib/bench/args.ts (citty accepts any).
 */
import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "bench",
    description:
      "Build real projects cold and warm with local, goma, ccache and sccache (private caches, own goma server and proxy) and compare. " +
      "PROJECT: zlib, lua5.4, yaml-cpp (fetched with scripts/fetch-sources.sh when run from the repository; objects only, -O2 -g -MD, absolute paths), " +
      "NAME=DIR (that recipe on DIR), or a DIR with a CMakeLists.txt or Makefile. Default: zlib lua5.4 yaml-cpp. " +
      "Reports medians over rounds: wall and CPU seconds (the build's processes plus goma's and sccache's daemons), ratios against local, " +
      "one file's warm hit latency, goma's proxy stage times per hit and per miss, client CPU per remote compile, cross-checkout hits " +
      "(a second copy at another path, warm cache) and the daemons' peak RSS. A peer not installed is named and skipped. " +
      "Exit status: 0, 1 when a build or daemon failed, 2 for a bad command line.",
  },
  args: {
    projects: { type: "positional", required: false, description: "PROJECT | NAME=DIR | DIR …" },
    tools: { type: "string", default: "local,goma,ccache,sccache", description: "Tools to compare (local is always built: the baseline)" },
    rounds: { type: "string", default: "3", description: "Rounds; each builds every tool cold then warm, tools' order rotating" },
    jobs: { type: "string", alias: "j", description: "Parallel compiles (make -j; default: cores)" },
    "hit-runs": { type: "string", default: "15", description: "Timed runs of one file's warm hit per tool (local: at most 3 compiles)" },
    "prefix-map": { type: "boolean", description: "Known projects: compile with -ffile-prefix-map=<tree>=. (objects independent of the checkout's path)" },
    json: { type: "string", description: "Write the full results as JSON to FILE" },
    svg: { type: "string", description: "Write a bar chart (wall time / local) as SVG to FILE" },
  },
  async run({ rawArgs }) {
    const { benchMain } = await import("../lib/bench/run.ts");
    process.exitCode = await benchMain(rawArgs);
  },
});
