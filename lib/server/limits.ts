/**
 * Per-request limits of the Goma HTTP API and the checks that enforce them, so that no request can make
 * the server allocate, write or send more than a bounded amount, and every client mistake is a 4xx with
 * a one-line message instead of a 500, an out-of-memory or a silently wrong input:
 *
 * | what | limit | beyond it |
 * |---|---|---|
 * | request body, compressed or decoded | `--max-request-bytes` (64 MiB) | 413 |
 * | `/l` hash keys per LookupFileReq | {@link MAX_LOOKUP_KEYS} | 400 |
 * | `/l` response bytes | {@link MAX_LOOKUP_RESPONSE_BYTES} | 413 |
 * | `/s` blobs per StoreFileReq | {@link MAX_STORE_BLOBS} | 400 |
 * | a file's size (FILE_META `file_size`) | {@link MAX_FILE_BYTES} | 400 |
 * | one argument / all of argv + env | {@link MAX_ARG_BYTES} / {@link MAX_ARGV_ENV_BYTES} (Linux E2BIG) | 400 |
 * | a path / one path component | {@link MAX_PATH_BYTES} / {@link MAX_NAME_BYTES} (PATH_MAX, NAME_MAX) | 400 |
 * | NUL bytes in cwd, arguments, env, file names | none allowed | 400 |
 *
 * The proxy asks for at most 5 chunks (10 MiB) per `/l` and stores one file's chunks per `/s`, well
 * inside these limits. A violation throws {@link GomaError} InvalidArgument (→ 400) or
 * {@link RequestTooLarge} (→ 413); lib/server/handler.ts maps them.
 */
import { goma, type IExecReq, type IFileBlob } from "../goma/proto.ts";
import { FILE_CHUNK_SIZE } from "../goma/file-blob.ts";
import { Code, GomaError } from "../util/status.ts";

/** Most hash keys one LookupFileReq may name (1,100 copies of one key once returned 2.2 GiB). */
export const MAX_LOOKUP_KEYS = 256;
/** Most bytes one LookupFileResp may carry (32 chunks of 2 MiB). */
export const MAX_LOOKUP_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Most blobs one StoreFileReq may carry. */
export const MAX_STORE_BLOBS = 256;
/** Largest file a FILE_META may describe (256 chunks of 2 MiB). */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
/** Largest single argument or env entry in bytes (Linux MAX_ARG_STRLEN, 32 pages, less the NUL). */
export const MAX_ARG_BYTES = 128 * 1024 - 1;
/** Largest argv + env together in bytes (half of the usual 2 MiB ARG_MAX: the wrapper adds its own). */
export const MAX_ARGV_ENV_BYTES = 1024 * 1024;
/** Longest path in bytes (PATH_MAX less the NUL). */
export const MAX_PATH_BYTES = 4095;
/** Longest path component in bytes (NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Most inputs one ExecReq may list. */
export const MAX_INPUTS = 100_000;

/** A request (or the response it asks for) over a size limit: HTTP 413 with the message. */
export class RequestTooLarge extends GomaError {
  constructor(message: string) {
    super(Code.ResourceExhausted, message);
    this.name = "RequestTooLarge";
  }
}

const T = goma.FileBlob.BlobType;
const utf8 = new TextEncoder();
const bad = (msg: string) => new GomaError(Code.InvalidArgument, `bad request: ${msg}`);
const show = (s: string) => JSON.stringify(s.length > 60 ? s.slice(0, 60) + "…" : s);

/** Byte length of a string in UTF-8, without allocating for ASCII-only strings. */
function byteLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : utf8.encode(s).byteLength;
}

/**
 * Checks a path named by a request (cwd, input, output): no NUL, at most {@link MAX_PATH_BYTES} bytes,
 * each component at most {@link MAX_NAME_BYTES}.
 * @throws {GomaError} InvalidArgument naming the field and what is wrong.
 */
export function checkPath(field: string, p: string): void {
  if (p.includes("\0")) throw bad(`${field} contains a NUL byte: ${show(p)}`);
  const n = byteLength(p);
  if (n > MAX_PATH_BYTES) throw bad(`${field} is ${n} bytes long, over the limit of ${MAX_PATH_BYTES} (PATH_MAX): ${show(p)}`);
  for (const c of p.split("/")) {
    const m = byteLength(c);
    if (m > MAX_NAME_BYTES) throw bad(`${field} has a ${m}-byte component, over the limit of ${MAX_NAME_BYTES} (NAME_MAX): ${show(c)}`);
  }
}

/**
 * Checks a FileBlob's sizes against the limits (used for `/s` blobs and for content embedded in `/e`
 * inputs): `file_size` a whole number in [0, {@link MAX_FILE_BYTES}], a FILE_META's hash keys exactly
 * as many as its size needs in 2 MiB chunks, a FILE_CHUNK's content at most 2 MiB at a non-negative offset.
 * Returns an error message, or "" when the sizes are plausible (the content check is {@link assembleFile}'s).
 */
export function blobSizeProblem(b: IFileBlob): string {
  const size = Number(b.fileSize ?? 0);
  if (!Number.isSafeInteger(size) || size < 0) return `file_size ${String(b.fileSize)} is not a size`;
  if (size > MAX_FILE_BYTES) return `file_size ${size} is over the limit of ${MAX_FILE_BYTES} bytes per file`;
  if (b.blobType === T.FILE_META) {
    const want = Math.ceil(size / FILE_CHUNK_SIZE);
    const keys = b.hashKey?.length ?? 0;
    if (keys !== want) return `FILE_META of ${size} bytes needs ${want} chunk keys of ${FILE_CHUNK_SIZE} bytes, has ${keys}`;
  }
  if (b.blobType === T.FILE_CHUNK) {
    const off = Number(b.offset ?? 0);
    if (!Number.isSafeInteger(off) || off < 0 || off >= MAX_FILE_BYTES) return `FILE_CHUNK offset ${String(b.offset)} is out of range`;
    if ((b.content?.byteLength ?? 0) > FILE_CHUNK_SIZE) return `FILE_CHUNK content of ${b.content!.byteLength} bytes is over the chunk size of ${FILE_CHUNK_SIZE}`;
  }
  return "";
}

/**
 * Reassembles a FILE_META's content from its chunks, checking the chunks against the real content: each
 * must be a FILE_CHUNK, they must tile `[0, file_size)` in order without gaps or overlap, and their
 * lengths must add up to `file_size`. Nothing is allocated before that holds.
 * @param chunk the chunk blob for a hash key, or undefined when the server does not hold it.
 * @returns the content, or undefined when a chunk is not held (the client resends it).
 * @throws {GomaError} InvalidArgument when the chunks contradict the FILE_META.
 */
export function assembleFile(meta: IFileBlob, chunk: (key: string) => IFileBlob | undefined, name: string): Uint8Array | undefined {
  const problem = blobSizeProblem(meta);
  if (problem) throw bad(`input ${show(name)}: ${problem}`);
  const size = Number(meta.fileSize ?? 0);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const k of meta.hashKey ?? []) {
    const c = chunk(k);
    if (!c) return undefined;
    const content = c.content ?? new Uint8Array();
    if (c.blobType !== T.FILE_CHUNK) throw bad(`input ${show(name)}: hash key ${k} of its FILE_META is not a FILE_CHUNK`);
    if (Number(c.offset ?? 0) !== at) throw bad(`input ${show(name)}: chunk ${k} is at offset ${String(c.offset)}, expected ${at}`);
    at += content.byteLength;
    if (at > size) throw bad(`input ${show(name)}: its chunks hold more than the ${size} bytes its FILE_META says`);
    parts.push(content);
  }
  if (at !== size) throw bad(`input ${show(name)}: its FILE_META says ${size} bytes, its chunks hold ${at}`);
  return Buffer.concat(parts, size);
}

/**
 * Checks an ExecReq against the limits before anything is resolved or run: paths (cwd, input file
 * names, expected outputs), arguments and env entries (no NUL, {@link MAX_ARG_BYTES} each,
 * {@link MAX_ARGV_ENV_BYTES} together), the number of inputs and embedded blob sizes.
 * @throws {GomaError} InvalidArgument with a one-line message naming the first problem.
 */
export function checkExecReq(req: IExecReq): void {
  if (req.cwd) checkPath("cwd", req.cwd);
  let total = 0;
  const strings = (field: string, list: string[] | null | undefined) => {
    for (const [i, s] of (list ?? []).entries()) {
      if (s.includes("\0")) throw bad(`${field}[${i}] contains a NUL byte: ${show(s)}`);
      const n = byteLength(s);
      if (n > MAX_ARG_BYTES) throw bad(`${field}[${i}] is ${n} bytes, over the limit of ${MAX_ARG_BYTES} per argument (E2BIG): ${show(s)}`);
      total += n + 1;
    }
  };
  strings("arg", req.arg);
  strings("env", req.env);
  if (total > MAX_ARGV_ENV_BYTES) throw bad(`arg and env are ${total} bytes together, over the limit of ${MAX_ARGV_ENV_BYTES} (E2BIG)`);
  const inputs = req.input ?? [];
  if (inputs.length > MAX_INPUTS) throw bad(`${inputs.length} inputs, over the limit of ${MAX_INPUTS} per request`);
  for (const [i, inp] of inputs.entries()) {
    checkPath(`input[${i}].filename`, inp.filename ?? "");
    if (inp.content) {
      const problem = blobSizeProblem(inp.content);
      if (problem) throw bad(`input ${show(inp.filename ?? "")}: ${problem}`);
    }
  }
  for (const [i, f] of (req.expectedOutputFiles ?? []).entries()) checkPath(`expected_output_files[${i}]`, f);
  for (const [i, f] of (req.expectedOutputDirs ?? []).entries()) checkPath(`expected_output_dirs[${i}]`, f);
  for (const [i, s] of (req.toolchainSpecs ?? []).entries()) {
    checkPath(`toolchain_specs[${i}].path`, s.path ?? "");
    if (s.symlinkPath) checkPath(`toolchain_specs[${i}].symlink_path`, s.symlinkPath);
  }
}
