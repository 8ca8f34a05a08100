/**
 * `goma doctor`: without a subcommand, checks the whole chain (cc → proxy → server → backend) and names
 * the fix for each failure (lib/doctor/cli.ts); subcommands go in `subCommands`.
 */
import { defineCommand, type SubCommandsDef } from "citty";
import { doctorArgs, doctorMain, namesSubcommand } from "../lib/doctor/cli.ts";

const subCommands: SubCommandsDef = {};

export default defineCommand({
  meta: { name: "doctor", description: "Diagnose the whole chain and name the fix for each failure" },
  args: doctorArgs,
  subCommands,
  async run({ args, rawArgs }) {
    // citty runs this after a subcommand too: only the bare `goma doctor` runs the checks.
    if (namesSubcommand(rawArgs, Object.keys(subCommands))) return;
    await doctorMain(args, rawArgs);
  },
});
