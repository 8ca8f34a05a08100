/**
 * `goma doctor`: without a subcommand, checks the whole chain (cc → proxy → server → backend) and names
 * the fix for each failure (lib/doctor/cli.ts); subcommands go in `subCommands`:
 * - `inputs [--explain] [--compare] -- <compile command>`: the input files goma's include processor
 *   finds for one compile (lib/doctor/inputs.ts).
 */
import { defineCommand, type SubCommandsDef } from "citty";
import { doctorArgs, doctorMain, namesSubcommand } from "../lib/doctor/cli.ts";

const inputs = defineCommand({
  meta: {
    name: "inputs",
    description: "List the files the preprocessor reads for a compile (goma's include processor): goma doctor inputs [--explain] [--compare] -- gcc -c a.c -o a.o",
  },
  args: {
    explain: { type: "boolean", default: false, description: "Say why each file is read (includer:line)" },
    compare: { type: "boolean", default: false, description: "Also run the compiler's -M and report differences" },
  },
  async run({ args, rawArgs }) {
    const sep = rawArgs.indexOf("--");
    const command = sep < 0 ? rawArgs.filter((a) => !a.startsWith("--")) : rawArgs.slice(sep + 1);
    const { doctorInputs } = await import("../lib/doctor/inputs.ts");
    const r = await doctorInputs(command, {
      explain: Boolean(args.explain), compare: Boolean(args.compare), cwd: process.cwd(),
      env: process.env as Record<string, string>,
    });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.code;
  },
});

const subCommands: SubCommandsDef = { inputs };

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
