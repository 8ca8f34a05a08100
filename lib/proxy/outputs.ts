/**
 * Writes a remote compile's outputs into the build tree, atomically: each file goes to a temporary name
 * beside its destination and is renamed over it, so a reader (or an interrupted build) never sees a
 * partial object. FILE_META and FILE_REF outputs are fetched from the server's file cache with `/l`
 * (at most 5 keys per request, as Goma's client). Modes honour the requester's umask.
 *
 * The server is not trusted with file names: only the outputs the compile expects (the ExecReq's
 * `expected_output_files`: object, dep file, .dwo) are written, each exactly once, and a successful
 * compile must return every required one. Anything else (a `../` or absolute path, another name, a
 * duplicate, a missing object, a FILE_META whose chunks do not add up) is a DataLoss error before
 * anything is written: the task falls back to a local compile with that reason.
 */
import { open, rename, unlink } from "node:fs/promises";
import { resolve } from "node:path";
import { FILE_CHUNK_SIZE } from "../goma/file-blob.ts";
import { goma } from "../goma/proto.ts";
import type { GomaHttpClient } from "../goma/http-client.ts";
import { Code, GomaError } from "../util/status.ts";

const T = goma.FileBlob.BlobType;

/**
 * The outputs a compile may receive, as the proxy named them in `ExecReq.expected_output_files`
 * (cwd-relative or absolute, exactly as on the command line).
 */
export interface ExpectedOutputs {
  /** Every output the compile may write: object, dep file, split DWARF file. */
  allowed: readonly string[];
  /** The subset a successful compile (exit status 0) must return: the object and the dep file. */
  required: readonly string[];
}

/** One output file {@link writeOutputs} wrote. */
export interface WrittenOutput {
  /** Absolute path written. */
  path: string;
  /** The output's name as the ExecResult gave it (one of the expected outputs, cwd-relative or absolute). */
  name: string;
  data: Uint8Array;
  isExecutable: boolean;
}

/** A FILE blob's content; its file_size, when set, must match. */
function fileContent(blob: goma.IFileBlob): Uint8Array {
  const content = blob.content ?? new Uint8Array();
  if (blob.fileSize != null && Number(blob.fileSize) !== content.byteLength) {
    throw new GomaError(Code.DataLoss, `FILE blob of ${content.byteLength} bytes claims file_size ${String(blob.fileSize)}`);
  }
  return content;
}

/**
 * Content of one output blob, fetching chunks or references as needed. A FILE_META must list chunks that
 * cover exactly `file_size` bytes in order (at most {@link FILE_CHUNK_SIZE} each), so a bogus size never
 * allocates more than the chunks hold.
 * @throws {GomaError} Unavailable when a referenced blob is gone; DataLoss when blobs are inconsistent.
 */
async function contentOf(blob: goma.IFileBlob, http: GomaHttpClient): Promise<Uint8Array> {
  if (blob.blobType === T.FILE) return fileContent(blob);
  if (blob.blobType === T.FILE_REF) {
    const [b] = await http.lookupFile(blob.hashKey ?? []);
    if (!b || b.blobType !== T.FILE) throw new GomaError(Code.Unavailable, `output blob ${blob.hashKey?.[0]} is no longer on the server`);
    return fileContent(b);
  }
  if (blob.blobType === T.FILE_META) {
    const size = Number(blob.fileSize ?? 0);
    const keys = blob.hashKey ?? [];
    if (!Number.isSafeInteger(size) || size < 0 || size > keys.length * FILE_CHUNK_SIZE) {
      throw new GomaError(Code.DataLoss, `FILE_META claims ${String(blob.fileSize)} bytes in ${keys.length} chunks`);
    }
    const parts: Uint8Array[] = [];
    let pos = 0;
    for (let i = 0; i < keys.length; i += 5) {
      const want = keys.slice(i, i + 5);
      const got = await http.lookupFile(want);
      if (got.length !== want.length) throw new GomaError(Code.DataLoss, `server answered ${got.length} chunks for ${want.length} keys`);
      for (const c of got) {
        if (c.blobType !== T.FILE_CHUNK || !c.content) throw new GomaError(Code.Unavailable, "output chunk is no longer on the server");
        if (Number(c.offset ?? 0) !== pos || pos + c.content.byteLength > size) {
          throw new GomaError(Code.DataLoss, `output chunk at offset ${String(c.offset)} (${c.content.byteLength} bytes) does not follow byte ${pos} of ${size}`);
        }
        parts.push(c.content);
        pos += c.content.byteLength;
      }
    }
    if (pos !== size) throw new GomaError(Code.DataLoss, `output chunks hold ${pos} of ${size} bytes`);
    return Buffer.concat(parts, size);
  }
  throw new GomaError(Code.DataLoss, `unexpected output blob type ${String(blob.blobType)}`);
}

/**
 * Matches the server's outputs against the expected ones: every output must resolve (against `cwd`) to
 * an allowed output, none twice, and with exit status 0 every required output must be present.
 * @returns each output with its absolute destination, in the server's order.
 * @throws {GomaError} DataLoss naming the first offending output.
 * @example
 * planOutputs({ exitStatus: 0, output: [{ filename: "../x", blob }] }, "/src", { allowed: ["a.o"], required: ["a.o"] })
 * // throws: server answered an unexpected output "../x" (the compile writes only "a.o")
 */
export function planOutputs(result: goma.IExecResult, cwd: string, expected: ExpectedOutputs): { path: string; output: goma.ExecResult.IOutput }[] {
  const allowed = new Map(expected.allowed.map((f) => [resolve(cwd, f), f]));
  const list = expected.allowed.map((f) => JSON.stringify(f)).join(", ");
  const seen = new Set<string>();
  const plan: { path: string; output: goma.ExecResult.IOutput }[] = [];
  for (const o of result.output ?? []) {
    const name = o.filename ?? "";
    if (!name || name.includes("\0") || !o.blob) throw new GomaError(Code.DataLoss, `server answered an output without a filename or blob: ${JSON.stringify(name)}`);
    const path = resolve(cwd, name);
    if (!allowed.has(path)) throw new GomaError(Code.DataLoss, `server answered an unexpected output ${JSON.stringify(name)} (the compile writes only ${list})`);
    if (seen.has(path)) throw new GomaError(Code.DataLoss, `output ${JSON.stringify(name)} is named twice in the server's answer`);
    seen.add(path);
    plan.push({ path, output: o });
  }
  if ((result.exitStatus ?? 0) === 0) {
    for (const f of expected.required) {
      if (!seen.has(resolve(cwd, f))) throw new GomaError(Code.DataLoss, `expected output ${JSON.stringify(f)} is missing from the server's answer of a successful compile`);
    }
  }
  return plan;
}

/**
 * Writes the outputs of `result` relative to `cwd`, after {@link planOutputs} accepted them. All
 * contents are fetched first, then each file is written to `<name>.goma-tmp-<pid>-<n>` and renamed; on
 * any failure the temporary files are removed and nothing in the tree has changed for the outputs not
 * yet renamed. Directories are never created: as with a local compile, the output's directory must exist.
 * @returns each file written: its absolute path, its name as the server gave it, its content and whether
 * it is executable (what the local output cache stores), in the server's order.
 * @throws {GomaError} DataLoss for an output the compile did not expect (see planOutputs) or inconsistent
 * blobs; Unavailable when a referenced blob is gone; FailedPrecondition when a file cannot be written.
 */
export async function writeOutputs(result: goma.IExecResult, cwd: string, umask: number, http: GomaHttpClient,
  expected: ExpectedOutputs): Promise<WrittenOutput[]> {
  const items: (WrittenOutput & { mode: number })[] = [];
  for (const { path, output: o } of planOutputs(result, cwd, expected)) {
    const data = await contentOf(o.blob!, http).catch((e) => {
      const err = GomaError.from(e);
      throw new GomaError(err.code, `output ${JSON.stringify(o.filename)}: ${err.rawMessage}`, { cause: e });
    });
    items.push({ path, name: o.filename!, data, isExecutable: o.isExecutable === true, mode: (o.isExecutable ? 0o777 : 0o666) & ~umask });
  }
  const written: WrittenOutput[] = [];
  let n = 0;
  for (const it of items) {
    const tmp = `${it.path}.goma-tmp-${process.pid}-${n++}`;
    try {
      const fh = await open(tmp, "w", it.mode);
      try {
        await fh.writeFile(it.data);
        await fh.chmod(it.mode);
      } finally {
        await fh.close();
      }
      await rename(tmp, it.path);
      written.push({ path: it.path, name: it.name, data: it.data, isExecutable: it.isExecutable });
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new GomaError(Code.FailedPrecondition, `cannot write output ${it.path}: ${(e as Error).message}`);
    }
  }
  return written;
}
