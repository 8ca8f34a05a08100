/**
 * The fake compiler type, whole (Goma's Fake type; the worked example of docs/adding-a-compiler-type.md):
 * its flags, its CompilerInfo, its include processor (the `#fake-include` closure the fake compiler reads,
 * lib/compiler/fake/compiler.ts) and the default ExecReqNormalizer. No gcc is involved anywhere.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Code, GomaError } from "../../util/status.ts";
import type { CompilerType, InputListing } from "../compiler-type.ts";
import { toolchainChain } from "../file-hash.ts";
import { findCompiler } from "../find-compiler.ts";
import { normalizeExecReq } from "../normalize.ts";
import { expandResponseFiles } from "../response-file.ts";
import type { CompilerFlags, CompilerInfo } from "../types.ts";
import { fakeDescriptor } from "./descriptor.ts";

/**
 * Parses `fake-cc -c SRC [-o OUT] [-MF DEP]` (Goma `FakeFlags`). Unsupported (→ local): no `-c` (as a
 * link step), no or several inputs, any other flag.
 */
export function parseFakeFlags(argv: string[], cwd: string): CompilerFlags {
  const flags: CompilerFlags = {
    args: [...argv], compiler: argv[0] ?? "", family: fakeDescriptor.name, lang: "c", input: "", output: "", outputs: [],
    infoFlags: [], includeDirs: { quote: [], angle: [], system: [], after: [] }, includes: [], defines: [],
  };
  const expanded = expandResponseFiles(argv, cwd);
  if ("error" in expanded) return { ...flags, unsupported: expanded.error };
  const args = (flags.args = expanded.args);
  const reasons: string[] = [];
  const inputs: string[] = [];
  let compile = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-c") compile = true;
    else if (a === "-o" || a === "-MF") {
      const v = args[++i];
      if (v === undefined) reasons.push(`missing argument to ${a}`);
      else if (a === "-o") flags.output = v;
      else flags.depFile = v;
    } else if (a.startsWith("-")) reasons.push(`unknown flag ${a}`);
    else inputs.push(a);
  }
  if (!compile) reasons.push("no -c: link step (or another step that does not compile to an object)");
  if (inputs.length !== 1) reasons.push(inputs.length ? `multiple input files: ${inputs.join(" ")}` : "no input file");
  flags.input = inputs[0] ?? "";
  if (!flags.output && flags.input) {
    const p = path.parse(flags.input);
    flags.output = path.join(p.dir, `${p.name}.o`);
  }
  flags.outputs = [flags.output, ...(flags.depFile !== undefined ? [flags.depFile] : [])];
  if (reasons.length) flags.unsupported = reasons[0];
  return flags;
}

/** The files the fake compiler reads: the source, then the `#fake-include` closure (normalized absolute). */
async function fakeInputs(flags: CompilerFlags, cwd: string): Promise<string[]> {
  const first = path.resolve(cwd, flags.input);
  const seen = new Set([first]);
  const queue = [first];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    let text: string;
    try {
      text = await fsp.readFile(file, "utf8");
    } catch (e) {
      throw new GomaError(Code.FailedPrecondition, `fake-cc: ${path.relative(cwd, file) || file} cannot be read: ${(e as Error).message}`);
    }
    for (const m of text.matchAll(/^#fake-include "([^"]+)"/gm)) {
      const inc = path.resolve(path.dirname(file), m[1]!);
      if (!seen.has(inc)) {
        seen.add(inc);
        queue.push(inc);
      }
    }
  }
  return queue;
}

/** The fake type (see the module comment). */
export const fake: CompilerType = {
  ...fakeDescriptor,
  parseFlags: parseFakeFlags,
  async compilerInfo(flags, cwd, env): Promise<CompilerInfo> {
    const localPath = await findCompiler(flags.compiler, cwd, env);
    const toolchain = await toolchainChain(localPath);
    const self = toolchain[toolchain.length - 1]!;
    return {
      localPath, realPath: self.path, name: fakeDescriptor.commandName(), family: fakeDescriptor.name, lang: flags.lang,
      version: "1[fake-cc 1]", target: "fake", hash: self.hash, size: self.size,
      quoteIncludePaths: [], systemIncludePaths: [], predefinedMacros: "", subprograms: [], toolchain,
    };
  },
  async scanInputs(flags, _info, cwd): Promise<InputListing> {
    try {
      return { files: await fakeInputs(flags, cwd) };
    } catch (e) {
      return { files: [], fallback: `io: ${GomaError.from(e).rawMessage}` };
    }
  },
  discoverInputs: (flags, _info, cwd) => fakeInputs(flags, cwd),
  normalizer: normalizeExecReq,
};

/** This folder's type, as its descriptor's `load()` hands it to the registry. */
export const compilerType: CompilerType = fake;
