/** `goma bench`: not implemented yet (see the open issues). */
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "bench", description: "Measure a real build: local vs goma vs ccache (not yet)" },
  run() {
    process.stderr.write("goma bench: not yet implemented\n");
    process.exitCode = 2;
  },
});
