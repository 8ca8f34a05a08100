/**
 * `goma bench`'s command line: `goma bench [PROJECT|NAME=DIR|DIR …] [--tools LIST] [--rounds N] [-j N]
 * [--hit-runs N] [--prefix-map] [--json FILE] [--svg FILE]`. citty prints the help; this module validates (citty accepts
 * any flag), so that every mistake is one line and exit status 2.
 */
import { availableParallelism } from "node:os";

/** A mistake on the command line or in the environment, reported as one line without a stack. */
export class BenchError extends Error {
  /** @param exitCode 2 for usage errors, 1 for failures while benchmarking. */
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** The tools `goma bench` knows, in the order it runs them. */
export const TOOL_NAMES = ["local", "goma", "ccache", "sccache"] as const;
/** One of {@link TOOL_NAMES}. */
export type ToolName = (typeof TOOL_NAMES)[number];

/** Validated options. */
export interface BenchOptions {
  /** The project words as given (default zlib lua5.4 yaml-cpp). */
  projects: string[];
  /** Tools to run; `local` is always first (it is the baseline of every ratio). */
  tools: ToolName[];
  /** Rounds: each runs every tool's cold and warm build once, per project. */
  rounds: number;
  /** make's -j. */
  jobs: number;
  /** How many times the warm hit of one file is timed, per tool (local compiles: at most 3). */
  hitRuns: number;
  /**
   * Objects recipe: add `-ffile-prefix-map=<tree>=.` to every compile, so that the objects do not depend on
   * the checkout's path (what issue 12 §4's cross-checkout hits need).
   */
  prefixMap: boolean;
  json?: string;
  svg?: string;
}

/** The flags and whether each takes a value. */
const FLAGS: Record<string, { key: keyof BenchOptions; value: boolean }> = {
  "--prefix-map": { key: "prefixMap", value: false },
  "--tools": { key: "tools", value: true },
  "--rounds": { key: "rounds", value: true },
  "-j": { key: "jobs", value: true },
  "--jobs": { key: "jobs", value: true },
  "--hit-runs": { key: "hitRuns", value: true },
  "--json": { key: "json", value: true },
  "--svg": { key: "svg", value: true },
};

/**
 * Parses `raw` (the words after `goma bench`).
 * @throws BenchError (exit 2) for an unknown flag, a missing or bad value, an unknown tool.
 */
export function parseBenchArgs(raw: string[]): BenchOptions {
  const o: BenchOptions = { projects: [], tools: [...TOOL_NAMES], rounds: 3, jobs: availableParallelism(), hitRuns: 15, prefixMap: false };
  const int = (flag: string, v: string, min: number): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new BenchError(`${flag} wants a whole number ≥ ${min}, got '${v}'`);
    return Number(v);
  };
  let onlyWords = false;
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (onlyWords || !a.startsWith("-") || a === "-") {
      o.projects.push(a);
      continue;
    }
    if (a === "--") {
      onlyWords = true;
      continue;
    }
    let flag = a;
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      flag = a.slice(0, eq);
      value = a.slice(eq + 1);
    } else if (/^-j\d+$/.test(a)) {
      flag = "-j";
      value = a.slice(2);
    }
    const def = FLAGS[flag];
    if (!def) throw new BenchError(`unknown option '${a}' (see goma bench --help)`);
    if (!def.value) {
      if (value !== undefined) throw new BenchError(`${flag} takes no value`);
      o.prefixMap = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= raw.length) throw new BenchError(`${flag} needs a value`);
      value = raw[++i]!;
    }
    switch (def.key) {
      case "tools": {
        const list = value.split(",").map((t) => t.trim()).filter(Boolean);
        for (const t of list) {
          if (!(TOOL_NAMES as readonly string[]).includes(t)) throw new BenchError(`unknown tool '${t}' (known: ${TOOL_NAMES.join(", ")})`);
        }
        o.tools = TOOL_NAMES.filter((t) => t === "local" || list.includes(t));
        break;
      }
      case "rounds":
        o.rounds = int(flag, value, 1);
        break;
      case "jobs":
        o.jobs = int(flag, value, 1);
        break;
      case "hitRuns":
        o.hitRuns = int(flag, value, 1);
        break;
      case "json":
      case "svg":
        if (!value) throw new BenchError(`${flag} needs a file name`);
        o[def.key] = value;
        break;
    }
  }
  if (!o.projects.length) o.projects = ["zlib", "lua5.4", "yaml-cpp"];
  return o;
}
