/**
 * What the embedded backend's executor agrees to run (issue 10 §2 "who may execute"). The REAPI port is
 * reachable directly, not only through goma server's Goma port, so the rule lives here, next to the
 * spawn, and looks only at the Action as stored in the CAS:
 *
 * 1. `argv[0]` is goma's wrapper `.goma/run.sh` at the input root (no working directory), and that
 *    file is byte for byte the wrapper of this build ({@link WRAPPER_SCRIPT}), executable;
 * 2. `argv[1]`, the program the wrapper runs, is a compiler the request declared in its environment
 *    manifest (`.goma/env-manifest`): an absolute path listed there, itself or the file it resolves to
 *    on this worker (directly, or through a symlink of
 *    the input root pointing at such a path, as for a project's `tools/gcc -> /usr/bin/gcc`) whose
 *    name, or the name of the file it resolves to, is one a compiler type claims (lib/compiler/registry.ts:
 *    gcc, g++, cc, c++, clang, clang++ with target prefixes and version suffixes; fake-cc). The file is the worker's own, a regular
 *    executable outside the backend's data directory, owned by root or the server's user and writable
 *    by nobody else. A compiler uploaded in the input root is never run. Whether its content matches the
 *    manifest's hash stays the wrapper's check (a mismatch is an environment mismatch, exit 125, which
 *    makes the client compile locally);
 * 3. the environment holds only what goma server sets (PATH of absolute directories outside the
 *    input root, the wrapper's variables, locale and the compiler's search-path variables), so that no
 *    `LD_PRELOAD`, `BASH_ENV`, `COMPILER_PATH` … can make the wrapper or the compiler load the request's
 *    own code;
 * 4. no argument that makes the driver run or load another program: `-wrapper`, `-fplugin…`,
 *    `-fpass-plugin…`, `-specs…`, `-B…`, `--gcc-toolchain…`, `-Xclang -load/-plugin/-add-plugin`, and
 *    response files (`@file`, which could hide any of these).
 *
 * A refused action answers FAILED_PRECONDITION naming the rule, and goma's proxy compiles locally
 * with that reason. A compiler still runs code paths chosen by its input, so this rule does not replace
 * the sandbox (lib/backend/sandbox.ts); it keeps the embedded worker from being a remote shell.
 */
import { realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, posix } from "node:path";
import type { Cas } from "../blobstore/cas.ts";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import { MANIFEST_PATH, ROOT_TOKEN, WRAPPER_PATH, WRAPPER_SCRIPT } from "../server/wrapper.ts";
import { Code, GomaError } from "../util/status.ts";
import { COMPILER_TYPES, isCompilerName } from "../compiler/registry.ts";
import { type InputTree, missingBlobsError } from "./input-root.ts";
import R = build.bazel.remote.execution.v2;

/** `"toolchain"`: the rule above (what goma server runs). `"any"`: every command (tests of REAPI semantics). */
export type CommandPolicy = "toolchain" | "any";


/** Environment variables goma server puts into a Command (lib/server/exec.ts). */
const ALLOWED_ENV = /^(PATH|WORK_DIR|GOMA_CLIENT_ROOT|GOMA_PREFIX_MAP_LAST|GOMA_DEP_FILE|GOMA_ARGV0|LANG|LC_[A-Z_]+|LANGUAGE|LIBRARY_PATH|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|OBJC_INCLUDE_PATH|DEPENDENCIES_OUTPUT|SUNPRO_DEPENDENCIES|SOURCE_DATE_EPOCH)$/;

const WRAPPER_DIGEST = digestOf(new TextEncoder().encode(WRAPPER_SCRIPT));

function refuse(message: string): never {
  throw new GomaError(Code.FailedPrecondition, `the embedded backend runs only declared compilers through goma's wrapper: ${message}`);
}

/** An argument that makes a compiler driver run or load another program, or undefined. */
export function dangerousArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-wrapper" || a.startsWith("-fplugin") || a.startsWith("-fpass-plugin") || /^--?specs/.test(a) ||
      a.startsWith("-B") || a.startsWith("--gcc-toolchain") || (a.startsWith("@") && !a.startsWith(ROOT_TOKEN))) return a;
    if (a === "-Xclang" && /^-(load|plugin|add-plugin)$/.test(args[i + 1] ?? "")) return `${a} ${args[i + 1]}`;
  }
  return undefined;
}

/** Looks up a path of the input root in the loaded tree: the file, symlink or directory node, or undefined. */
function lookup(tree: InputTree, root: Digest, rel: string): R.IFileNode | R.ISymlinkNode | "dir" | undefined {
  let dir = tree.directories.get(digestKey(root));
  const parts = rel.split("/").filter((p) => p && p !== ".");
  for (const [i, name] of parts.entries()) {
    if (!dir) return undefined;
    const last = i === parts.length - 1;
    const sub = dir.directories?.find((d) => d.name === name);
    if (sub) {
      if (last) return "dir";
      dir = sub.digest ? tree.directories.get(digestKey({ hash: sub.digest.hash ?? "", sizeBytes: Number(sub.digest.sizeBytes ?? 0) })) : undefined;
      continue;
    }
    if (!last) return undefined;
    return dir.files?.find((f) => f.name === name) ?? dir.symlinks?.find((s) => s.name === name);
  }
  return parts.length ? undefined : "dir";
}

/** What {@link checkCommand} needs besides the action. */
export interface CommandCheckContext {
  cas: Cas;
  tree: InputTree;
  inputRootDigest: Digest;
  /** The backend's data directory: no program may live under it. */
  dataDir: string;
}

/**
 * Checks the action's Command against the rule of this module.
 * @returns the text of the action's environment manifest ("" when it has none).
 * @throws {GomaError} FailedPrecondition naming the broken rule.
 */
export async function checkCommand(command: R.ICommand, ctx: CommandCheckContext): Promise<{ manifest: string }> {
  const argv = command.arguments ?? [];
  const wd = command.workingDirectory ?? "";
  if (argv[0] !== WRAPPER_PATH || (wd !== "" && wd !== ".")) {
    refuse(`the program is ${JSON.stringify(argv[0] ?? "")}${wd ? ` in ${JSON.stringify(wd)}` : ""}, not ${WRAPPER_PATH} at the input root`);
  }
  const wrapper = lookup(ctx.tree, ctx.inputRootDigest, WRAPPER_PATH);
  if (!wrapper || wrapper === "dir" || !("digest" in wrapper) || wrapper.digest?.hash !== WRAPPER_DIGEST.hash || !wrapper.isExecutable) {
    refuse(`${WRAPPER_PATH} is not this build's wrapper (another content, not executable, or a symlink)`);
  }
  for (const v of command.environmentVariables ?? []) {
    const name = v.name ?? "";
    if (!ALLOWED_ENV.test(name)) refuse(`environment variable ${JSON.stringify(name)} is not one goma server sets`);
    if (name === "PATH" && (v.value ?? "").split(":").some((d) => !d.startsWith("/") || d.includes(ROOT_TOKEN))) {
      refuse(`PATH ${JSON.stringify(v.value)} has a directory that is not an absolute worker directory`);
    }
  }
  const bad = dangerousArgument(argv.slice(2));
  if (bad !== undefined) refuse(`argument ${JSON.stringify(bad)} makes the compiler run or load another program`);

  const manifestNode = lookup(ctx.tree, ctx.inputRootDigest, MANIFEST_PATH);
  const manifest = new Map<string, string>();
  let text = "";
  if (manifestNode && manifestNode !== "dir" && "digest" in manifestNode && manifestNode.digest) {
    const d = manifestNode.digest;
    const digest = { hash: d.hash ?? "", sizeBytes: Number(d.sizeBytes ?? 0) };
    const bytes = await ctx.cas.get(digest);
    // Vanished or found corrupt (the CAS verifies what it reads): missing, so the client uploads it again.
    if (bytes === undefined) throw missingBlobsError([digest]);
    text = new TextDecoder().decode(bytes);
    for (const line of text.split("\n")) {
      const m = /^([0-9a-f]{64}) {2}(\/.*)$/.exec(line);
      if (m) manifest.set(m[2]!, m[1]!);
    }
  }
  let program = argv[1] ?? "";
  const asWritten = program;
  if (program.startsWith(`${ROOT_TOKEN}/`)) {
    // A compiler reached through the project (tools/gcc -> /usr/bin/gcc): a symlink of the input root.
    const node = lookup(ctx.tree, ctx.inputRootDigest, program.slice(ROOT_TOKEN.length + 1));
    if (!node || node === "dir" || !("target" in node) || !isAbsolute(node.target ?? "")) {
      refuse(`the compiler ${JSON.stringify(asWritten)} is a file of the request's input root, not the worker's own`);
    }
    program = posix.normalize(node.target!);
  }
  if (!isAbsolute(program)) refuse(`the compiler ${JSON.stringify(asWritten)} is not an absolute path`);
  let real: string;
  try {
    real = await realpath(program);
  } catch (e) {
    // Not on this worker: the wrapper reports that as an environment mismatch (→ local compile).
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && manifest.has(program)) return { manifest: text };
    refuse(`the compiler ${program} is not listed in the request's ${MANIFEST_PATH}`);
  }
  // The proxy lists the files a compiler is made of: /usr/bin/gcc may appear as the file it resolves to.
  if (!manifest.has(program) && !manifest.has(real)) refuse(`the compiler ${program} is not listed in the request's ${MANIFEST_PATH}`);
  if (!isCompilerName(basename(program)) && !isCompilerName(basename(real))) {
    refuse(`${program}${real !== program ? ` (${real})` : ""} is not a C/C++ compiler driver (gcc, g++, cc, c++, clang, clang++) nor another compiler a registered type claims (types: ${COMPILER_TYPES.map((t) => t.name).join(", ")})`);
  }
  if (real === ctx.dataDir || real.startsWith(`${ctx.dataDir}/`)) refuse(`${program} resolves into the backend's data directory`);
  const st = await stat(real);
  const uid = process.getuid?.() ?? 0;
  if (!st.isFile() || (st.mode & 0o111) === 0) refuse(`${real} is not an executable file`);
  if ((st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) refuse(`${real} is writable by users other than root and the server's`);
  return { manifest: text };
}
