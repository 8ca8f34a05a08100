/**
 * The non-`cc` subcommands, dispatched with citty. Each subcommand lives in its own thin file under cmd/
 * and is loaded lazily, so `goma server` never parses the proxy's code and vice versa.
 *
 * Around citty, this module makes the command line strict the way users of ccache, Bazel and Goma's own
 * tools expect: an unknown flag is refused with one line naming it and the nearest known flag (exit 2);
 * a user mistake ({@link UsageError}) prints one line, never a stack trace (exit 2), and goma's own bug
 * one line `goma: internal error: …` (exit 70; the stack with GOMA_DEBUG); help names the whole command
 * (`goma proxy start`); and no ANSI colour is written to stdout or stderr when that stream is not a
 * terminal or `NO_COLOR` is set (https://no-color.org).
 */
import type { ArgsDef, CommandDef } from "citty";
import { VERSION } from "../lib/util/version.ts";
import { closest, colourWanted, nearest, reportError, UsageError } from "../lib/util/cli-args.ts";

/**
 * Commands whose arguments after the first positional (or after `--`) are another program's command
 * line, never checked against goma's flags.
 */
const PASS_THROUGH = new Set(["goma doctor inputs"]);

async function loadCitty(): Promise<typeof import("citty")> {
  // citty decides about colour once, when it is loaded: load it with NO_COLOR in effect when colour is not
  // wanted, then give the environment back as it was (children such as compilers never see the change).
  const plain = !colourWanted(process.stdout.isTTY, process.env);
  const had = process.env.NO_COLOR;
  if (plain) process.env.NO_COLOR = "1";
  try {
    return await import("citty");
  } finally {
    if (had === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = had;
  }
}

function rootCommand(citty: typeof import("citty")): CommandDef {
  return citty.defineCommand({
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
}

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
async function value<T>(v: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

/** The command `argv` names, its full name (`goma proxy start`) and the arguments left for it. */
async function resolve(root: CommandDef, argv: string[]): Promise<{ cmd: CommandDef; name: string; rest: string[] }> {
  let cmd = root;
  let name = "goma";
  let rest = argv;
  for (;;) {
    const subs = await value(cmd.subCommands);
    if (!subs || Object.keys(subs).length === 0) return { cmd, name, rest };
    const args = (await value(cmd.args)) ?? {};
    const i = firstPositional(rest, args);
    if (i < 0) return { cmd, name, rest };
    const word = rest[i]!;
    const sub = await value(subs[word] as Resolvable<CommandDef>);
    if (!sub) {
      if (cmd.run) return { cmd, name, rest };
      const near = nearest(word, Object.keys(subs));
      throw new UsageError(`${name}: unknown command "${word}"${near ? ` (did you mean "${near}"?)` : ""}; known: ${Object.keys(subs).join(", ")}`);
    }
    name = `${name} ${word}`;
    cmd = sub;
    rest = rest.slice(i + 1);
  }
}

/** The index of the first argument that is neither a flag nor a flag's value; -1 when none. */
function firstPositional(argv: string[], args: ArgsDef): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return -1;
    if (a.startsWith("-") && a !== "-") {
      if (!a.includes("=") && isValueFlag(a, args)) i++;
      continue;
    }
    return i;
  }
  return -1;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function isValueFlag(flag: string, args: ArgsDef): boolean {
  const def = lookup(flag.replace(/^-{1,2}/, "").split("=")[0]!, args);
  return def !== undefined && (def.type === "string" || def.type === "enum");
}

function lookup(name: string, args: ArgsDef): ArgsDef[string] | undefined {
  for (const [key, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = Array.isArray(alias) ? alias : alias ? [alias] : [];
    if (kebab(key) === kebab(name) || aliases.includes(name)) return def;
  }
  return undefined;
}

/** The part of `rest` that is goma's own: up to `--`, and for a pass-through command up to its first positional. */
function ownArgs(name: string, rest: string[], args: ArgsDef): string[] {
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--") return rest.slice(0, i);
    if (a.startsWith("-") && a !== "-") {
      if (!a.includes("=") && isValueFlag(a, args)) i++;
    } else if (PASS_THROUGH.has(name)) return rest.slice(0, i);
  }
  return rest;
}

/**
 * Refuses a flag the command does not define (`--no-X` is the negation of a boolean `X`).
 * @throws {UsageError} naming the nearest known flag: `goma server: unknown flag --prot (did you mean
 * --port?); see goma server --help` for a likely typo, else `… unknown flag --bogus (nearest: --port); …`.
 */
function checkFlags(name: string, own: string[], args: ArgsDef): void {
  const known = [...Object.entries(args).filter(([, d]) => d.type !== "positional").map(([k]) => `--${kebab(k)}`), "--help"];
  for (let i = 0; i < own.length; i++) {
    const a = own[i]!;
    if (!a.startsWith("-") || a === "-") continue;
    const flag = a.split("=")[0]!;
    const bare = flag.replace(/^-{1,2}/, "");
    if (bare === "help" || bare === "h") continue;
    let def = lookup(bare, args);
    if (def === undefined && bare.startsWith("no-")) {
      const pos = lookup(bare.slice(3), args);
      if (pos?.type === "boolean") def = pos;
    }
    if (def === undefined) {
      const typo = nearest(`--${bare}`, known);
      const hint = typo ? `did you mean ${typo}?` : `nearest: ${closest(`--${bare}`, known)!.name}`;
      throw new UsageError(`${name}: unknown flag ${flag} (${hint}); see ${name} --help`);
    }
    if ((def.type === "string" || def.type === "enum") && !a.includes("=")) {
      if (i + 1 >= own.length) throw new UsageError(`${name}: ${flag} needs a value`);
      i++;
    } else if (def.type === "boolean" && a.includes("=")) {
      throw new UsageError(`${name}: ${flag} is a switch and takes no value (got "${a}")`);
    }
  }
}

/** Runs the CLI with `argv` (without the program name); sets the exit status. */
export async function main(argv: string[]): Promise<void> {
  const citty = await loadCitty();
  const root = rootCommand(citty);
  let name = "goma";
  try {
    const r = await resolve(root, argv);
    name = r.name;
    const args = (await value(r.cmd.args)) ?? {};
    const own = ownArgs(name, r.rest, args);
    if (own.some((a) => a === "--help" || a === "-h")) {
      const parent = citty.defineCommand({ meta: { name: name.split(" ").slice(0, -1).join(" "), version: VERSION } });
      process.stdout.write(`${await citty.renderUsage(r.cmd, name === "goma" ? undefined : parent)}\n`);
      const epilog = (r.cmd as { helpEpilog?: string }).helpEpilog;
      if (epilog) process.stdout.write(`\n${epilog}\n`);
      return;
    }
    if (name === "goma" && argv.length === 1 && ["--version", "-v"].includes(argv[0]!)) {
      process.stdout.write(`goma ${VERSION}\n`);
      return;
    }
    if (name === "goma" && r.rest.length === 0) {
      process.stdout.write(`${await citty.renderUsage(root)}\n`);
      return;
    }
    checkFlags(name, own, args);
    await citty.runCommand(r.cmd, { rawArgs: r.rest });
  } catch (e) {
    process.exitCode = reportError(name, e, (line) => process.stderr.write(line), process.env, colourWanted(process.stderr.isTTY, process.env));
  }
}
