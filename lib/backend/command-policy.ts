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
 *    own code; `GOMA_ARGV0` (gcc and clang find cc1, as, ld relative to argv[0]) and `LIBRARY_PATH`
 *    (gcc reads a `specs` file there) name only directories that root or the server's user control,
 *    outside the action's and the server's directories ({@link argv0Violation});
 * 4. no argument that makes the driver run or load another program ({@link dangerousArgument}: plugins,
 *    specs, -B, response files, cc1's -load also inside `-Wp,`/`-Xclang`/`-Xpreprocessor`, the linker's
 *    choice, clang's toolchain directories outside the env prefixes), and the command is a compile
 *    (`-c`; `--version` alone for goma doctor).
 *
 * A refused action answers FAILED_PRECONDITION naming the rule, and goma's proxy compiles locally
 * with that reason. A compiler still runs code paths chosen by its input, so this rule does not replace
 * the sandbox (lib/backend/sandbox.ts); it keeps the embedded worker from being a remote shell.
 */
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, isAbsolute, posix } from "node:path";
import type { Cas } from "../blobstore/cas.ts";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import { DEFAULT_ENV_PREFIXES } from "../server/exec-root.ts";
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

/** Options of clang's cc1 (reached through `-Xclang`, `-Wp,` or `-Xpreprocessor`) that load a library. */
const CC1_LOADS = /^-(load|plugin|add-plugin)$|^-fpass-plugin=|^-plugin-arg-|^-load-pass-plugin/;
/** Options that choose the linker or pass it arguments: goma remotes compiles only. */
const LINKER_CHOICE = /^(-fuse-ld=|--ld-path=|-Wl,|--linker-option)|^-Xlinker$|^-Xoffload-linker/;
/** Options that pass their next argument to another stage (cc1, the preprocessor, one architecture's run). */
const PASSES_NEXT = /^-Xclang$|^-Xpreprocessor$|^-Xarch_|^-Xopenmp-target/;

/** Whether `p` is an absolute path without empty, `.` or `..` segments (a trailing `/` allowed when `dirOk`). */
function isNormalAbsolute(p: string, dirOk = false): boolean {
  const q = dirOk && p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
  return q.startsWith("/") && (q === "/" || q.split("/").slice(1).every((s) => s !== "" && s !== "." && s !== ".."));
}

/** Whether `p` is `dir` or below it. */
function isUnder(p: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, "");
  return d === "" || p === d || p.startsWith(`${d}/`);
}

/** One argument (or one piece of `-Wp,`, or what `-Xclang` passes on) that runs or loads another program. */
function dangerousOne(a: string, envPrefixes: readonly string[]): string | undefined {
  if (a === "-wrapper" || a.startsWith("-fplugin") || a.startsWith("-fpass-plugin") || /^--?specs/.test(a) ||
    a.startsWith("-B") || (a.startsWith("@") && !a.startsWith(ROOT_TOKEN)) || CC1_LOADS.test(a) || LINKER_CHOICE.test(a)) return a;
  // -ccc-gcc-name names a program; -ccc-install-dir is checked with the other toolchain directories.
  if (a.startsWith("-ccc-") && a !== "-ccc-install-dir") return a;
  const joined = /^(--gcc-toolchain|--gcc-install-dir)=(.*)$/.exec(a);
  if (joined && !underEnvPrefix(joined[2]!, envPrefixes)) return a;
  // Newer clang also takes the joined form -Xclang=<arg>.
  const passed = /^-(Xclang|Xpreprocessor)=(.*)$/s.exec(a);
  if (passed && dangerousOne(passed[2]!, envPrefixes) !== undefined) return a;
  if (a.startsWith("-Wp,") || a.startsWith("-Wa,")) {
    for (const piece of a.slice(4).split(",")) if (dangerousOne(piece, envPrefixes) !== undefined) return a;
  }
  return undefined;
}

function underEnvPrefix(dir: string, envPrefixes: readonly string[]): boolean {
  return isNormalAbsolute(dir, true) && envPrefixes.some((e) => isUnder(dir, e));
}

/**
 * An argument that makes a compiler driver run or load another program, or undefined: `-wrapper`,
 * `-fplugin…`, `-fpass-plugin…`, `-specs…`, `-B…`, response files (`@file`, which could hide any of
 * these); cc1's `-load`, `-plugin`, `-add-plugin`, `-plugin-arg-…`, `-fpass-plugin=` (clang passes
 * `-Wp,` pieces and `-Xpreprocessor` to cc1 as they are, gcc to cc1 too); the same inside `-Wp,…`/`-Wa,…`
 * (split on commas) and after `-Xclang`, `-Xpreprocessor`, `-Xarch_…`, `-Xopenmp-target…`; the linker's
 * choice and arguments (`-fuse-ld=`, `--ld-path=`, `-Wl,…`, `-Xlinker`; goma remotes compiles only);
 * `-ccc-…`; `--gcc-toolchain`, `--gcc-install-dir`, `-ccc-install-dir` outside `envPrefixes` (the
 * directories the workers provide, lib/server/exec-root.ts).
 */
export function dangerousArgument(args: readonly string[], envPrefixes: readonly string[] = DEFAULT_ENV_PREFIXES): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const bad = dangerousOne(a, envPrefixes);
    if (bad !== undefined) return bad;
    if (PASSES_NEXT.test(a) && i + 1 < args.length && dangerousOne(args[i + 1]!, envPrefixes) !== undefined) return `${a} ${args[i + 1]}`;
    if ((a === "--gcc-toolchain" || a === "--gcc-install-dir" || a === "-ccc-install-dir") && !underEnvPrefix(args[i + 1] ?? "", envPrefixes)) {
      return `${a} ${args[i + 1] ?? ""}`.trimEnd();
    }
  }
  return undefined;
}

/**
 * Why `args` (the compiler's arguments) are not a compile goma sends, or undefined: goma remotes only
 * `-c` (lib/compiler/flag-table.ts: -E, -S, -fsyntax-only and links run locally), and `goma doctor`
 * runs the compiler's `--version` alone.
 */
export function notACompile(args: readonly string[]): string | undefined {
  if (args.includes("-c") || (args.length === 1 && args[0] === "--version")) return undefined;
  return `the arguments have no -c: goma runs compiles to an object only (or a lone --version)`;
}

/** Whether a directory's entries can be changed only by root or the server's user. */
function closedDir(st: Stats, uid: number): boolean {
  return (st.uid === 0 || st.uid === uid) && (st.mode & 0o022) === 0;
}

const describeOwner = (p: string, st: Stats) => `${p} (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`;

/**
 * Resolves an absolute path as the kernel does, component by component following symlinks, and checks
 * that only root and the server's user can change what it resolves to: every directory looked into
 * is owned by one of them and writable by nobody else, or is sticky (/tmp) with the entry looked up
 * existing and owned by one of them.
 * @returns the physical path (a missing rest appended as written), or why it cannot be trusted.
 */
async function resolveTrusted(path: string, uid: number): Promise<{ real: string } | { reason: string }> {
  const todo = path.split("/").filter((s) => s !== "");
  const cur: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      cur.pop();
      continue;
    }
    const dir = `/${cur.join("/")}`;
    const dst = await lstat(dir);
    const entry = `${dir === "/" ? "" : dir}/${name}`;
    let est: Stats | undefined;
    try {
      est = await lstat(entry);
    } catch {
      est = undefined;
    }
    const owned = est !== undefined && (est.uid === 0 || est.uid === uid);
    if (!closedDir(dst, uid) && !((dst.mode & 0o1000) !== 0 && (dst.uid === 0 || dst.uid === uid) && owned)) {
      return { reason: `${describeOwner(dir, dst)} can be changed by users other than root and the server's` };
    }
    if (est === undefined || (!est.isDirectory() && !est.isSymbolicLink() && todo.length > 0)) {
      // Nothing resolves below a missing entry (or a file), and no one else can create it.
      return { real: posix.normalize([entry, ...todo].join("/")) };
    }
    if (est.isSymbolicLink()) {
      if (++hops > 40) return { reason: `${path} has too many levels of symbolic links` };
      const target = await readlink(entry);
      if (target.startsWith("/")) cur.length = 0;
      todo.unshift(...target.split("/").filter((s) => s !== ""));
      continue;
    }
    cur.push(name);
  }
  return { real: `/${cur.join("/")}` };
}

/** The directory itself or its nearest existing ancestor, with its stat. */
async function nearestExisting(p: string): Promise<{ path: string; st: Stats }> {
  for (let q = p; ; q = posix.dirname(q)) {
    try {
      return { path: q, st: await stat(q) };
    } catch {
      if (q === "/") throw new Error("/ does not exist");
    }
  }
}

/**
 * Why a directory a compiler looks up programs and libraries in (named by `what`) is not trustworthy,
 * or undefined: it must be absolute and normalized, outside `protectedDirs` (the backend's data
 * directory, with every action's directory, and the server's own), resolve only through directories
 * root or the server's user control (see resolveTrusted), and it, or its nearest existing ancestor
 * when it does not exist, must be writable by nobody else.
 */
async function untrustedDir(dir: string, what: string, protectedDirs: readonly string[], uid: number): Promise<string | undefined> {
  if (!isNormalAbsolute(dir, true)) return `${what} ${JSON.stringify(dir)} is not an absolute, normalized path`;
  const r = await resolveTrusted(dir, uid);
  if ("reason" in r) return `${what} ${JSON.stringify(dir)}: ${r.reason}`;
  for (const p of [dir, r.real]) {
    if (protectedDirs.some((d) => isUnder(p, d))) return `${what} ${JSON.stringify(dir)} is inside the backend's or the server's data directory`;
  }
  const e = await nearestExisting(r.real);
  if (!closedDir(e.st, uid)) return `${what} ${JSON.stringify(dir)}: ${describeOwner(e.path, e.st)} can be changed by users other than root and the server's`;
  return undefined;
}

/**
 * Why `GOMA_ARGV0` (the path the wrapper gives the compiler as its argv[0]) could point the compiler
 * at files someone but root and the server's user controls, or undefined. gcc takes its installation
 * from the real path of argv[0] (`<dir>/../lib/gcc/…/cc1`, `<dir>/../<triple>/bin/as`, with `..`
 * taken lexically even when `<dir>` does not exist); clang from the directory as written (its
 * InstalledDir: `as`, `ld`, `../lib/gcc/…`). So the value must be absolute and normalized, resolve
 * only through trusted directories, and both directories — `<dir>` and `<dir>/..`, of the path as
 * written and as resolved — must be writable by nobody else (see {@link untrustedDir}).
 */
export async function argv0Violation(value: string, protectedDirs: readonly string[], uid = process.getuid?.() ?? 0): Promise<string | undefined> {
  if (value === "") return undefined;
  const what = "GOMA_ARGV0";
  if (!isNormalAbsolute(value)) return `${what} ${JSON.stringify(value)} is not an absolute, normalized path`;
  const r = await resolveTrusted(value, uid);
  if ("reason" in r) return `${what} ${JSON.stringify(value)}: ${r.reason}`;
  const dirs = new Set<string>();
  for (const d of [posix.dirname(value), posix.dirname(r.real)]) dirs.add(d).add(posix.dirname(d));
  for (const d of dirs) {
    const bad = await untrustedDir(d, what, protectedDirs, uid);
    if (bad !== undefined) return bad.replace(`${what} ${JSON.stringify(d)}`, `${what} ${JSON.stringify(value)} (directory ${d})`);
  }
  return undefined;
}

/**
 * Why `LIBRARY_PATH` could make gcc read files others control, or undefined: gcc looks for its
 * `specs` file (which can add `-B` and so choose cc1) in these directories, so each entry obeys the
 * rule of {@link argv0Violation}'s directories (an empty entry, the working directory, is refused).
 */
export async function libraryPathViolation(value: string, protectedDirs: readonly string[], uid = process.getuid?.() ?? 0): Promise<string | undefined> {
  for (const d of value.split(":")) {
    const bad = await untrustedDir(d, "LIBRARY_PATH directory", protectedDirs, uid);
    if (bad !== undefined) return bad;
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
  /** Other directories of the server's own state (its cache dir), treated like `dataDir`. */
  serverDirs?: readonly string[];
  /** Directories the workers provide (lib/server/exec-root.ts); default DEFAULT_ENV_PREFIXES. */
  envPrefixes?: readonly string[];
}

/**
 * Checks the action's Command against the rule of this module.
 * @returns the text of the action's environment manifest ("" when it has none) and the compiler the
 *   wrapper runs: `program` (absolute; a symlink of the input root followed) and the file it resolves
 *   to on this worker (`real`; undefined when it does not exist here).
 * @throws {GomaError} FailedPrecondition naming the broken rule.
 */
export async function checkCommand(command: R.ICommand, ctx: CommandCheckContext): Promise<{ manifest: string; program: string; real?: string }> {
  const argv = command.arguments ?? [];
  const wd = command.workingDirectory ?? "";
  if (argv[0] !== WRAPPER_PATH || (wd !== "" && wd !== ".")) {
    refuse(`the program is ${JSON.stringify(argv[0] ?? "")}${wd ? ` in ${JSON.stringify(wd)}` : ""}, not ${WRAPPER_PATH} at the input root`);
  }
  const wrapper = lookup(ctx.tree, ctx.inputRootDigest, WRAPPER_PATH);
  if (!wrapper || wrapper === "dir" || !("digest" in wrapper) || wrapper.digest?.hash !== WRAPPER_DIGEST.hash || !wrapper.isExecutable) {
    refuse(`${WRAPPER_PATH} is not this build's wrapper (another content, not executable, or a symlink)`);
  }
  const protectedDirs = [ctx.dataDir, ...(ctx.serverDirs ?? [])];
  const uid = process.getuid?.() ?? 0;
  for (const v of command.environmentVariables ?? []) {
    const name = v.name ?? "";
    const value = v.value ?? "";
    if (!ALLOWED_ENV.test(name)) refuse(`environment variable ${JSON.stringify(name)} is not one goma server sets`);
    if (name === "PATH" && value.split(":").some((d) => !d.startsWith("/") || d.includes(ROOT_TOKEN))) {
      refuse(`PATH ${JSON.stringify(v.value)} has a directory that is not an absolute worker directory`);
    }
    // A locale name with a slash is a path to locale files.
    if (/^(LANG|LC_[A-Z_]+|LANGUAGE)$/.test(name) && value.includes("/")) refuse(`${name} ${JSON.stringify(value)} names a path, not a locale`);
    const why = name === "GOMA_ARGV0" ? await argv0Violation(value, protectedDirs, uid)
      : name === "LIBRARY_PATH" ? await libraryPathViolation(value, protectedDirs, uid) : undefined;
    if (why !== undefined) refuse(`${why} (the compiler would take programs from there)`);
  }
  const args = argv.slice(2);
  const bad = dangerousArgument(args, ctx.envPrefixes ?? DEFAULT_ENV_PREFIXES);
  if (bad !== undefined) refuse(`argument ${JSON.stringify(bad)} makes the compiler run or load another program`);
  const notCompile = notACompile(args);
  if (notCompile !== undefined) refuse(notCompile);

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
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && manifest.has(program)) return { manifest: text, program };
    refuse(`the compiler ${program} is not listed in the request's ${MANIFEST_PATH}`);
  }
  // The proxy lists the files a compiler is made of: /usr/bin/gcc may appear as the file it resolves to.
  if (!manifest.has(program) && !manifest.has(real)) refuse(`the compiler ${program} is not listed in the request's ${MANIFEST_PATH}`);
  if (!isCompilerName(basename(program)) && !isCompilerName(basename(real))) {
    refuse(`${program}${real !== program ? ` (${real})` : ""} is not a C/C++ compiler driver (gcc, g++, cc, c++, clang, clang++) nor another compiler a registered type claims (types: ${COMPILER_TYPES.map((t) => t.name).join(", ")})`);
  }
  if (real === ctx.dataDir || real.startsWith(`${ctx.dataDir}/`)) refuse(`${program} resolves into the backend's data directory`);
  const st = await stat(real);
  if (!st.isFile() || (st.mode & 0o111) === 0) refuse(`${real} is not an executable file`);
  if ((st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) refuse(`${real} is writable by users other than root and the server's`);
  return { manifest: text, program, real };
}
