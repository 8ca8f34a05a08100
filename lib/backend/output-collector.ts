/**
 * Collects an action's outputs into the CAS and describes them for the ActionResult. With
 * `Command.output_paths` (REAPI ≥ 2.1) each path is classified by what the action left there: a file
 * becomes an OutputFile, a directory an OutputDirectory (a `Tree` blob, topologically sorted), a
 * symlink an OutputSymlink. Without it the legacy `output_files`/`output_directories` are used. Paths
 * are relative to the working directory; absent outputs are skipped.
 *
 * Outputs never leave the action root: every component of an output path below the root is checked
 * with lstat, and a symlink there (one from the input tree, or one the action made: `lnk -> /etc` with
 * output `lnk/shadow`) fails the action with INVALID_ARGUMENT instead of being followed; files are opened
 * with O_NOFOLLOW, an output that is itself a symlink is reported as an OutputSymlink (legacy outputs
 * too), and output parents are created one directory at a time, never through a symlink. The action's
 * processes have exited (their process group is killed) before outputs are collected, so nothing races
 * these checks.
 *
 * Spec: REAPI Command.output_paths/output_files/output_directories/output_directory_format,
 * ActionResult.output_*, Tree; reference/reapi-buildbarn.md §1.2.
 */
import { lstat, readdir, readlink } from "node:fs/promises";
import { lstatSync, mkdirSync, type Stats } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Cas } from "../blobstore/cas.ts";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import R = build.bazel.remote.execution.v2;

/** The output part of an ActionResult. */
export type CollectedOutputs = Pick<R.IActionResult, "outputFiles" | "outputDirectories" | "outputSymlinks">;

/** Every output path the Command declares (output_paths, else the legacy pair). */
export function declaredOutputs(command: R.ICommand): string[] {
  if (command.outputPaths?.length) return [...command.outputPaths];
  return [...(command.outputFiles ?? []), ...(command.outputDirectories ?? [])];
}

/** The absolute path of output `p` (relative to `workDir`), checked to lie below `root`. */
function outputPath(root: string, workDir: string, p: string): string {
  const abs = join(workDir, p);
  if (p === "" || p.startsWith("/") || p.includes("\0") || !abs.startsWith(`${root}/`)) {
    throw new GomaError(Code.InvalidArgument, `Output path "${p}" is not inside the input root`);
  }
  return abs;
}

/**
 * Walks the parent directories of `abs` from `root` down without following symlinks. With `create`,
 * missing ones are made (one mkdir each); without, a missing one means the output is absent.
 * @returns false when a parent is absent (only without `create`).
 * @throws {GomaError} InvalidArgument when a parent is a symlink, or (with `create`) not a directory.
 */
async function checkParents(root: string, abs: string, p: string, create: boolean): Promise<boolean> {
  const parts = relative(root, abs).split(sep).slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = join(cur, part);
    // Synchronous: one lstat per path component per output, microseconds each.
    let st: Stats | undefined = lstatSync(cur, { throwIfNoEntry: false });
    if (!st && create) {
      try {
        mkdirSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      st = lstatSync(cur);
    }
    if (!st) return false;
    if (st.isSymbolicLink()) {
      throw new GomaError(Code.InvalidArgument,
        `Output path "${p}" goes through the symlink "${relative(root, cur)}": outputs are not collected outside the action root`);
    }
    if (!st.isDirectory()) {
      if (create) throw new GomaError(Code.InvalidArgument, `Output path "${p}" needs "${relative(root, cur)}" to be a directory`);
      return false;
    }
  }
  return true;
}

/**
 * Checks that every output path stays inside the input root (paths are relative to the working
 * directory and may use ".."), and creates its parent directories (not the output itself), never
 * through a symlink.
 * @throws {GomaError} InvalidArgument for absolute paths, paths escaping the input root, or parents that
 * are symlinks or files.
 */
export async function prepareOutputParents(root: string, workDir: string, paths: string[]): Promise<void> {
  for (const p of paths) await checkParents(root, outputPath(root, workDir, p), p, true);
}

/** Sorts entries by name in UTF-8 byte order, the order REAPI requires in a Directory. */
function sortByName<T extends { name?: string | null }>(xs: T[]): T[] {
  return xs.sort((a, b) => Buffer.compare(Buffer.from(a.name ?? ""), Buffer.from(b.name ?? "")));
}

/** Builds the Directory for `path` (storing its files), recording every Directory by digest key. */
async function buildDirectory(cas: Cas, path: string, all: Map<string, R.IDirectory>): Promise<{ dir: R.IDirectory; digest: Digest }> {
  const files: R.IFileNode[] = [], directories: R.IDirectoryNode[] = [], symlinks: R.ISymlinkNode[] = [];
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isFile()) {
      const mode = (await lstat(p)).mode;
      files.push({ name: e.name, digest: await cas.putFile(p, { noFollow: true }), isExecutable: (mode & 0o111) !== 0 });
    } else if (e.isDirectory()) {
      directories.push({ name: e.name, digest: (await buildDirectory(cas, p, all)).digest });
    } else if (e.isSymbolicLink()) {
      symlinks.push({ name: e.name, target: await readlink(p) });
    }
  }
  const dir: R.IDirectory = {
    files: sortByName(files),
    directories: sortByName(directories),
    symlinks: sortByName(symlinks),
  };
  const digest = digestOf(R.Directory.encode(dir).finish());
  all.set(digestKey(digest), dir);
  return { dir, digest };
}

/** Collects an output directory as a Tree (parents before children, each Directory once). */
async function collectDirectory(cas: Cas, path: string, outPath: string, format: number): Promise<R.IOutputDirectory> {
  const all = new Map<string, R.IDirectory>();
  const { dir: root, digest: rootDigest } = await buildDirectory(cas, path, all);
  const children: R.IDirectory[] = [];
  const seen = new Set<string>();
  const visit = (d: R.IDirectory) => {
    for (const sub of d.directories ?? []) {
      const k = digestKey(sub.digest as Digest);
      if (seen.has(k)) continue;
      seen.add(k);
      children.push(all.get(k)!);
      visit(all.get(k)!);
    }
  };
  visit(root);
  const out: R.IOutputDirectory = { path: outPath };
  const F = R.Command.OutputDirectoryFormat;
  if (format !== F.DIRECTORY_ONLY) {
    const treeBytes = R.Tree.encode({ root, children }).finish();
    const treeDigest = digestOf(treeBytes);
    await cas.put(treeDigest, treeBytes);
    Object.assign(out, { treeDigest, isTopologicallySorted: true });
  }
  if (format === F.DIRECTORY_ONLY || format === F.TREE_AND_DIRECTORY) {
    for (const d of [root, ...children]) {
      const bytes = R.Directory.encode(d).finish();
      await cas.put(digestOf(bytes), bytes);
    }
    out.rootDirectoryDigest = rootDigest;
  }
  return out;
}

/**
 * Stores the declared outputs found under `root`/`workDir` in the CAS and describes them.
 * @param root the action's input root; no output is read outside it.
 * @throws {GomaError} InvalidArgument when an output path goes through a symlink; the underlying OS
 * error when an output cannot be read.
 */
export async function collectOutputs(cas: Cas, command: R.ICommand, workDir: string, root: string): Promise<CollectedOutputs> {
  const outputFiles: R.IOutputFile[] = [], outputDirectories: R.IOutputDirectory[] = [], outputSymlinks: R.IOutputSymlink[] = [];
  const modern = (command.outputPaths?.length ?? 0) > 0;
  const legacyDirs = new Set(command.outputDirectories ?? []);
  const format = command.outputDirectoryFormat ?? 0;
  for (const p of declaredOutputs(command)) {
    const abs = outputPath(root, workDir, p);
    if (!(await checkParents(root, abs, p, false))) continue;
    // Never followed, legacy outputs included: a symlink is reported as one.
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isSymbolicLink()) {
      outputSymlinks.push({ path: p, target: await readlink(abs) });
    } else if (st.isFile() && (modern || !legacyDirs.has(p))) {
      outputFiles.push({ path: p, digest: await cas.putFile(abs, { noFollow: true }), isExecutable: (st.mode & 0o111) !== 0 });
    } else if (st.isDirectory() && (modern || legacyDirs.has(p))) {
      outputDirectories.push(await collectDirectory(cas, abs, p, format));
    }
  }
  return { outputFiles, outputDirectories, outputSymlinks };
}
