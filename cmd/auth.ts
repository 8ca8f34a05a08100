/** `goma auth`: not implemented yet (see the open issues). */
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "auth", description: "Credentials without Google OAuth (not yet)" },
  run() {
    process.stderr.write("goma auth: not yet implemented\n");
    process.exitCode = 2;
  },
});
