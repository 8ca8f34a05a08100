/**
 * Builds a REAPI input root (a Merkle tree of Directory messages) from a flat list of files.
 *
 * Spec: REAPI Directory/FileNode/DirectoryNode canonical form — names are single path segments,
 * each list sorted by name (UTF-8 byte order), digests are SHA-256 of the serialization
 * (reference/reapi-buildbarn.md §1.5).
 */
import { R } from "../reapi/proto.ts";
import { type Digest, digestOf } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";

/** One file of the input root: path relative to the root, `/`-separated, no `.` or `..` segments. */
export interface TreeFile {
  path: string;
  digest: Digest;
  isExecutable: boolean;
}

/** A symlink of the input root: path relative to the root, target as stored (readlink's value). */
export interface TreeSymlink {
  path: string;
  target: string;
}

/** The tree: its root digest and every serialized Directory by digest hash. */
export interface InputTree {
  rootDigest: Digest;
  directories: Map<string, { digest: Digest; bytes: Uint8Array }>;
}

interface Node {
  files: Map<string, TreeFile>;
  links: Map<string, string>;
  dirs: Map<string, Node>;
}

const byteOrder = (a: string, b: string) => (Buffer.compare(Buffer.from(a), Buffer.from(b)));

/**
 * Builds the tree for `files` and `symlinks`, plus empty directories `emptyDirs` (relative paths) that
 * must exist.
 * @throws {GomaError} InvalidArgument when a path is not clean relative or two entries share a name.
 */
export function buildInputTree(files: TreeFile[], emptyDirs: string[] = [], symlinks: TreeSymlink[] = []): InputTree {
  const root: Node = { files: new Map(), links: new Map(), dirs: new Map() };
  const dirOf = (segs: string[]): Node => {
    let n = root;
    for (const s of segs) {
      if (n.files.has(s) || n.links.has(s)) throw new GomaError(Code.InvalidArgument, `Input "${segs.join("/")}" is both a file and a directory`);
      let c = n.dirs.get(s);
      if (!c) n.dirs.set(s, (c = { files: new Map(), links: new Map(), dirs: new Map() }));
      n = c;
    }
    return n;
  };
  const split = (p: string): string[] => {
    const segs = p.split("/").filter((s) => s !== "" && s !== ".");
    if (segs.some((s) => s === "..")) throw new GomaError(Code.InvalidArgument, `Input path "${p}" leaves the input root`);
    return segs;
  };
  for (const d of emptyDirs) dirOf(split(d));
  for (const f of files) {
    const segs = split(f.path);
    const name = segs.pop();
    if (!name) throw new GomaError(Code.InvalidArgument, `Empty input path`);
    const dir = dirOf(segs);
    if (dir.dirs.has(name)) throw new GomaError(Code.InvalidArgument, `Input "${f.path}" is both a file and a directory`);
    dir.files.set(name, f);
  }
  for (const l of symlinks) {
    const segs = split(l.path);
    const name = segs.pop();
    if (!name) throw new GomaError(Code.InvalidArgument, `Empty symlink path`);
    const dir = dirOf(segs);
    if (dir.dirs.has(name) || dir.files.has(name)) continue; // a real input of that name wins
    dir.links.set(name, l.target);
  }
  const directories = new Map<string, { digest: Digest; bytes: Uint8Array }>();
  const encode = (n: Node): Digest => {
    const msg = {
      files: [...n.files.entries()]
        .sort(([a], [b]) => byteOrder(a, b))
        .map(([name, f]) => ({ name, digest: f.digest, isExecutable: f.isExecutable || undefined })),
      directories: [...n.dirs.entries()]
        .sort(([a], [b]) => byteOrder(a, b))
        .map(([name, c]) => ({ name, digest: encode(c) })),
      symlinks: [...n.links.entries()].sort(([a], [b]) => byteOrder(a, b)).map(([name, target]) => ({ name, target })),
    };
    const bytes = R.Directory.encode(msg).finish();
    const digest = digestOf(bytes);
    directories.set(digest.hash, { digest, bytes });
    return digest;
  };
  return { rootDigest: encode(root), directories };
}
