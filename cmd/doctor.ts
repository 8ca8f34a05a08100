/** `goma doctor`: not implemented yet (see the open issues). */
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "doctor", description: "Diagnose the whole chain and name the fix for each failure (not yet)" },
  run() {
    process.stderr.write("goma doctor: not yet implemented\n");
    process.exitCode = 2;
  },
});
