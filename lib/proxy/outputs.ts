/**
 * Writes a remote compile's outputs into the build tree, atomically: each file goes to a temporary name
 * beside its destination and is renamed over it, so a reader (or an interrupted build) never sees a
 * partial object. FILE_META and FILE_REF outputs are fetched from the server's file cache with `/l`
 * (at most 5 keys per request, as Goma's client). Modes honour the requester's umask.
 */
import { open, rename, unlink, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { goma } from "../goma/proto.ts";
import type { GomaHttpClient } from "../goma/http-client.ts";
import { Code, GomaError } from "../util/status.ts";

const T = goma.FileBlob.BlobType;

/** Content of one output blob, fetching chunks or references as needed. */
async function contentOf(blob: goma.IFileBlob, http: GomaHttpClient): Promise<Uint8Array> {
  if (blob.blobType === T.FILE) return blob.content ?? new Uint8Array();
  if (blob.blobType === T.FILE_REF) {
    const [b] = await http.lookupFile(blob.hashKey ?? []);
    if (!b || b.blobType !== T.FILE) throw new GomaError(Code.Unavailable, `output blob ${blob.hashKey?.[0]} is no longer on the server`);
    return b.content ?? new Uint8Array();
  }
  if (blob.blobType === T.FILE_META) {
    const size = Number(blob.fileSize ?? 0);
    const out = new Uint8Array(size);
    const keys = blob.hashKey ?? [];
    for (let i = 0; i < keys.length; i += 5) {
      const got = await http.lookupFile(keys.slice(i, i + 5));
      for (const c of got) {
        if (c.blobType !== T.FILE_CHUNK || !c.content) throw new GomaError(Code.Unavailable, "output chunk is no longer on the server");
        const off = Number(c.offset ?? 0);
        if (off + c.content.byteLength > size) throw new GomaError(Code.DataLoss, "output chunk lies beyond the file size");
        out.set(c.content, off);
      }
    }
    return out;
  }
  throw new GomaError(Code.Internal, `unexpected output blob type ${String(blob.blobType)}`);
}

/**
 * Writes every output of `result` relative to `cwd`. All contents are fetched first, then each file is
 * written to `<name>.goma-tmp-<pid>-<n>` and renamed; on any failure the temporary files are removed
 * and nothing in the tree has changed for the outputs not yet renamed.
 * @returns the absolute paths written.
 */
export async function writeOutputs(result: goma.IExecResult, cwd: string, umask: number, http: GomaHttpClient): Promise<string[]> {
  const items: { path: string; data: Uint8Array; mode: number }[] = [];
  for (const o of result.output ?? []) {
    if (!o.filename || !o.blob) throw new GomaError(Code.Internal, "output without a filename or blob");
    const data = await contentOf(o.blob, http);
    items.push({ path: resolve(cwd, o.filename), data, mode: (o.isExecutable ? 0o777 : 0o666) & ~umask });
  }
  const written: string[] = [];
  let n = 0;
  for (const it of items) {
    const tmp = `${it.path}.goma-tmp-${process.pid}-${n++}`;
    try {
      await mkdir(dirname(it.path), { recursive: true });
      const fh = await open(tmp, "w", it.mode);
      try {
        await fh.writeFile(it.data);
        await fh.chmod(it.mode);
      } finally {
        await fh.close();
      }
      await rename(tmp, it.path);
      written.push(it.path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new GomaError(Code.Internal, `cannot write output ${it.path}: ${(e as Error).message}`);
    }
  }
  return written;
}
