/**
 * The input root of an action: walk its Directory tree in the CAS, report what is missing, and
 * materialize it into a fresh directory. Files are copies of the CAS blobs, verified against their digests
 * (mode 0444, executables 0555), never hard links, so an action cannot change a stored blob; directories
 * are created; symlinks stay symlinks. Missing blobs, and blobs found corrupt while materializing (they
 * are removed from the CAS), become a FAILED_PRECONDITION status with a PreconditionFailure whose
 * violations are `{type: "MISSING", subject: "blobs/{hash}/{size}"}`, so clients upload them again.
 *
 * Spec: REAPI Action.input_root_digest, Directory/FileNode/DirectoryNode/SymlinkNode, Execute's
 * PreconditionFailure rule; reference/reapi-buildbarn.md §1.2, §1.7.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { Cas } from "../blobstore/cas.ts";
import { type Digest, digestKey } from "../digest/digest.ts";
import { build, google } from "../reapi/proto.ts";
import { blobSubject } from "../reapi/resource-name.ts";
import { Code, GomaError } from "../util/status.ts";
import { DetailedError, requireDigest } from "./grpc-handler.ts";
import { TYPE_URL } from "../reapi/grpc-service.ts";
import R = build.bazel.remote.execution.v2;

/**
 * A loaded input tree: every Directory found (by digest key) and every blob that is missing. Its files
 * are pinned against eviction by a cache size limit until `release()` (call it once materialized).
 */
export interface InputTree {
  directories: Map<string, R.Directory>;
  missing: Digest[];
  release: () => void;
}

/**
 * Checks one path component of a Directory entry.
 * @throws {GomaError} InvalidArgument for "", ".", "..", or names containing "/" or NUL.
 */
function checkName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new GomaError(Code.InvalidArgument, `Invalid file name "${name}" in input root`);
  }
}

/**
 * Walks the input tree from `root` and finds missing Directory and file blobs.
 * @throws {GomaError} InvalidArgument when a Directory blob does not decode or holds invalid digests.
 */
export async function loadInputTree(cas: Cas, root: Digest): Promise<InputTree> {
  const directories = new Map<string, R.Directory>();
  const missing: Digest[] = [];
  const files = new Map<string, Digest>();
  const queue = [root];
  const seen = new Set([digestKey(root)]);
  while (queue.length > 0) {
    const d = queue.shift()!;
    const bytes = await cas.get(d);
    if (!bytes) {
      missing.push(d);
      continue;
    }
    let dir: R.Directory;
    try {
      dir = R.Directory.decode(bytes);
    } catch (err) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(d)} is not a Directory: ${(err as Error).message}`);
    }
    directories.set(digestKey(d), dir);
    for (const f of dir.files) {
      const fd = requireDigest(f.digest, `digest of file "${f.name}"`);
      files.set(digestKey(fd), fd);
    }
    for (const sub of dir.directories) {
      const sd = requireDigest(sub.digest, `digest of directory "${sub.name}"`);
      if (!seen.has(digestKey(sd))) {
        seen.add(digestKey(sd));
        queue.push(sd);
      }
    }
  }
  const release = cas.pin([...files.values()]);
  try {
    missing.push(...(await cas.findMissing([...files.values()])));
  } catch (err) {
    release();
    throw err;
  }
  return { directories, missing, release };
}

/**
 * The error answering missing blobs: FAILED_PRECONDITION with one MISSING violation per blob.
 * Spec: REAPI Execute "missing input → FAILED_PRECONDITION with PreconditionFailure, type MISSING".
 */
export function missingBlobsError(missing: Digest[]): DetailedError {
  const failure = google.rpc.PreconditionFailure.encode({
    violations: missing.map((d) => ({ type: "MISSING", subject: blobSubject(d) })),
  }).finish();
  const list = missing.slice(0, 5).map(blobSubject).join(", ") + (missing.length > 5 ? ", …" : "");
  return new DetailedError(Code.FailedPrecondition, `${missing.length} input blob(s) missing from the CAS: ${list}`,
    [{ type_url: TYPE_URL.preconditionFailure, value: failure }]);
}

/**
 * Creates the input tree rooted at `root` under `dest` (created; must not exist or be empty).
 * @throws {GomaError} InvalidArgument for invalid or duplicate names; FailedPrecondition with MISSING
 * violations ({@link missingBlobsError}) for blobs that vanished or were corrupt.
 */
export async function materializeInputRoot(cas: Cas, tree: InputTree, root: Digest, dest: string): Promise<void> {
  const lost = new Map<string, Digest>();
  await materializeDirectory(cas, tree, root, dest, lost);
  if (lost.size > 0) throw missingBlobsError([...lost.values()]);
}

/** Creates one Directory under `dest`, recording blobs that are gone or corrupt in `lost`. */
async function materializeDirectory(cas: Cas, tree: InputTree, root: Digest, dest: string, lost: Map<string, Digest>): Promise<void> {
  // Directories and symlinks are made with synchronous calls (microseconds each, less than an async
  // call's trip through the thread pool); file contents go through the CAS.
  mkdirSync(dest, { recursive: true });
  const dir = tree.directories.get(digestKey(root));
  if (!dir) throw new GomaError(Code.NotFound, `Directory ${digestKey(root)} not found`);
  const names = new Set<string>();
  const claim = (name: string | null | undefined): string => {
    const n = name ?? "";
    checkName(n);
    if (names.has(n)) throw new GomaError(Code.InvalidArgument, `Duplicate name "${n}" in input root`);
    names.add(n);
    return join(dest, n);
  };
  const files = dir.files.map((f) => ({ path: claim(f.name), digest: requireDigest(f.digest, "file digest"), exec: !!f.isExecutable }));
  const links = dir.symlinks.map((l) => ({ path: claim(l.name), target: l.target ?? "" }));
  const subdirs = dir.directories.map((s) => ({ path: claim(s.name), digest: requireDigest(s.digest, "directory digest") }));
  for (const l of links) symlinkSync(l.target, l.path);
  await Promise.all(files.map((f) => cas.materialize(f.digest, f.path, f.exec).catch((err) => {
    if (!(err instanceof GomaError && err.code === Code.NotFound)) throw err;
    lost.set(digestKey(f.digest), f.digest);
  })));
  for (const s of subdirs) await materializeDirectory(cas, tree, s.digest, s.path, lost);
}
