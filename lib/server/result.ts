/**
 * ActionResult (REAPI) → ExecResp (Goma), as remoteexec_proxy converts it (reference/goma-protocol.md
 * §3.6): exit code, stdout/stderr (inline or fetched by digest: Buildbarn never inlines), and each
 * output file as a FILE blob (≤ 2 MiB), or FILE_META whose chunks go to the file cache (> 2 MiB), or
 * FILE_REF when the whole response would exceed 6 MiB. Output directories are flattened into files.
 *
 * The wrapper's first stderr line names the exec root (lib/server/wrapper.ts); it is stripped here and
 * the exec root in diagnostics is mapped back to the client's root, so messages read as a local compile's.
 */
import { posix as path } from "node:path";
import { goma, type IExecResp } from "../goma/proto.ts";
import { R } from "../reapi/proto.ts";
import { type Digest, digestKey, toDigest } from "../digest/digest.ts";
import { FILE_CHUNK_SIZE, serializeBlob, blobHashKey } from "../goma/file-blob.ts";
import type { FileStore } from "./file-store.ts";
import type { Reapi } from "./reapi.ts";
import { ENV_MISMATCH_EXIT, ENV_MISMATCH_PREFIX, EXEC_ROOT_MARKER, ROOT_TOKEN } from "./wrapper.ts";
import { infrastructureFailure } from "./infra-failure.ts";
import { Code, GomaError } from "../util/status.ts";

const T = goma.FileBlob.BlobType;
/** Above this total, embedded outputs become FILE_REFs (remoteexec_proxy's DefaultMaxRespMsgSize). */
export const MAX_EMBEDDED_RESPONSE_BYTES = 6 * 1024 * 1024;

/** What the conversion needs to know about the request. */
export interface ResultContext {
  reapi: Reapi;
  files: FileStore;
  /** The request's cwd and the chosen input root (both absolute, client side). */
  cwd: string;
  root: string;
  /** Root-relative output path → the filename as the client sent it in expected_output_files. */
  outputsByRel: Map<string, string>;
  actionDigest: Digest;
  /** ExecResp.cache_hit value (CacheSource). */
  cacheHit: number;
  /**
   * Root-relative path of the output (the dep file of a root-independent compile) in which the wrapper
   * wrote the root as `@GOMA_ROOT@`: replaced here by `root`, the requesting client's.
   */
  rootTokenFile?: string;
}

type ActionResultLike = R.IActionResult;

async function bytesOf(reapi: Reapi, raw: Uint8Array | null | undefined, digest: R.IDigest | null | undefined,
  prefetched?: Map<string, Uint8Array>): Promise<Uint8Array> {
  if (raw && raw.byteLength) return raw;
  if (digest && Number(digest.sizeBytes ?? 0) > 0) {
    const d = toDigest(digest);
    return prefetched?.get(digestKey(d)) ?? reapi.readBlob(d);
  }
  return new Uint8Array();
}

/**
 * The blobs of `ar` that are not inlined (stdout, stderr, output files), read in one call when the
 * backend client can ({@link Reapi.readBlobs}) and there are several; else undefined (read one by one).
 */
async function prefetchBlobs(reapi: Reapi, ar: ActionResultLike): Promise<Map<string, Uint8Array> | undefined> {
  if (!reapi.readBlobs) return undefined;
  const want: Digest[] = [];
  const add = (raw: Uint8Array | null | undefined, d: R.IDigest | null | undefined) => {
    if (!(raw && raw.byteLength) && d && Number(d.sizeBytes ?? 0) > 0) want.push(toDigest(d));
  };
  add(ar.stderrRaw, ar.stderrDigest);
  add(ar.stdoutRaw, ar.stdoutDigest);
  for (const f of ar.outputFiles ?? []) add(f.contents, f.digest);
  return want.length > 1 ? reapi.readBlobs(want) : undefined;
}

/** Removes the wrapper's marker line and maps the exec root back to the client root. */
export function cleanStream(data: Uint8Array, clientRoot: string, execRoot?: string): { data: Uint8Array; execRoot?: string } {
  let text = Buffer.from(data).toString("latin1");
  if (text.startsWith(EXEC_ROOT_MARKER)) {
    const nl = text.indexOf("\n");
    execRoot = text.slice(EXEC_ROOT_MARKER.length, nl < 0 ? undefined : nl);
    text = nl < 0 ? "" : text.slice(nl + 1);
  }
  if (execRoot && execRoot !== "/" && text.includes(execRoot)) text = text.split(execRoot).join(clientRoot);
  return { data: new Uint8Array(Buffer.from(text, "latin1")), execRoot };
}

/**
 * Converts an ActionResult into the ExecResp the client expects.
 * @throws {GomaError} when an output or stream cannot be read from the CAS (the client retries);
 * Unavailable when the compile failed for an infrastructure reason on the worker (a full disk, a
 * killed process …: lib/server/infra-failure.ts), so the client compiles locally instead of failing.
 */
export async function actionResultToExecResp(ar: ActionResultLike, ctx: ResultContext): Promise<IExecResp> {
  const pre = await prefetchBlobs(ctx.reapi, ar);
  const err = cleanStream(await bytesOf(ctx.reapi, ar.stderrRaw, ar.stderrDigest, pre), ctx.root);
  const out = cleanStream(await bytesOf(ctx.reapi, ar.stdoutRaw, ar.stdoutDigest, pre), ctx.root, err.execRoot);
  const exitCode = ar.exitCode ?? 0;
  const stderrText = Buffer.from(err.data).toString("utf8");
  if (exitCode === ENV_MISMATCH_EXIT && stderrText.startsWith(ENV_MISMATCH_PREFIX)) {
    return {
      error: goma.ExecResp.ExecError.BAD_REQUEST,
      errorMessage: [stderrText.trim()],
      result: { exitStatus: -1 },
      cacheKey: digestKey(ctx.actionDigest),
    };
  }
  const infra = infrastructureFailure(exitCode, stderrText, err.execRoot !== undefined);
  if (infra) {
    throw new GomaError(Code.Unavailable, `remote compile failed for an infrastructure reason, not the compile's (exit ${exitCode}): ${infra}`);
  }
  const files: { rel: string; digest: R.IDigest; contents?: Uint8Array | null; isExecutable: boolean }[] = [];
  for (const f of ar.outputFiles ?? []) files.push({ rel: f.path ?? "", digest: f.digest!, contents: f.contents, isExecutable: !!f.isExecutable });
  for (const d of ar.outputDirectories ?? []) files.push(...(await flattenTree(ctx.reapi, d)));

  const outputs: goma.ExecResult.IOutput[] = [];
  let embedded = 0;
  const small: { out: goma.ExecResult.IOutput; content: Uint8Array }[] = [];
  for (const f of files) {
    const filename = ctx.outputsByRel.get(f.rel) ?? path.relative(ctx.cwd, path.join(ctx.root, f.rel));
    let content = await bytesOf(ctx.reapi, f.contents, f.digest, pre);
    if (ctx.rootTokenFile !== undefined && f.rel === ctx.rootTokenFile) content = untokenizeRoot(content, ctx.root);
    const o: goma.ExecResult.IOutput = { filename, isExecutable: f.isExecutable };
    if (content.byteLength <= FILE_CHUNK_SIZE) {
      o.blob = { blobType: T.FILE, content, fileSize: content.byteLength };
      embedded += content.byteLength;
      small.push({ out: o, content });
    } else {
      const keys: string[] = [];
      for (let off = 0; off < content.byteLength; off += FILE_CHUNK_SIZE) {
        const part = content.subarray(off, Math.min(off + FILE_CHUNK_SIZE, content.byteLength));
        const bytes = serializeBlob({ blobType: T.FILE_CHUNK, offset: off, content: part, fileSize: content.byteLength });
        const key = blobHashKey(bytes);
        ctx.files.put(key, bytes);
        keys.push(key);
      }
      o.blob = { blobType: T.FILE_META, fileSize: content.byteLength, hashKey: keys };
    }
    outputs.push(o);
  }
  if (embedded > MAX_EMBEDDED_RESPONSE_BYTES) {
    for (const s of small) {
      const bytes = serializeBlob(s.out.blob!);
      const key = blobHashKey(bytes);
      ctx.files.put(key, bytes);
      s.out.blob = { blobType: T.FILE_REF, fileSize: s.content.byteLength, hashKey: [key] };
    }
  }
  const md = ar.executionMetadata;
  return {
    result: { exitStatus: exitCode, stdoutBuffer: out.data, stderrBuffer: err.data, output: outputs },
    cacheKey: digestKey(ctx.actionDigest),
    cacheHit: ctx.cacheHit,
    executionStats: md?.executionStartTimestamp
      ? { executionStartTimestamp: md.executionStartTimestamp, executionCompletedTimestamp: md.executionCompletedTimestamp }
      : undefined,
  };
}

/** `content` with every `@GOMA_ROOT@` replaced by `root` (bytes kept as they are: latin1 round trip). */
export function untokenizeRoot(content: Uint8Array, root: string): Uint8Array {
  const text = Buffer.from(content).toString("latin1");
  if (!text.includes(ROOT_TOKEN)) return content;
  return new Uint8Array(Buffer.from(text.split(ROOT_TOKEN).join(Buffer.from(root, "utf8").toString("latin1")), "latin1"));
}

/** Files of an output directory, from its Tree blob (Buildbarn has no GetTree). */
async function flattenTree(reapi: Reapi, d: R.IOutputDirectory) {
  const tree = R.Tree.decode(await reapi.readBlob(toDigest(d.treeDigest)));
  const byHash = new Map<string, R.IDirectory>();
  const { digestOf } = await import("../digest/digest.ts");
  for (const c of tree.children ?? []) byHash.set(digestOf(R.Directory.encode(c).finish()).hash, c);
  const out: { rel: string; digest: R.IDigest; isExecutable: boolean }[] = [];
  const walk = (dir: R.IDirectory, prefix: string) => {
    for (const f of dir.files ?? []) out.push({ rel: path.join(prefix, f.name ?? ""), digest: f.digest!, isExecutable: !!f.isExecutable });
    for (const sub of dir.directories ?? []) {
      const c = byHash.get(sub.digest?.hash ?? "");
      if (c) walk(c, path.join(prefix, sub.name ?? ""));
    }
  };
  if (tree.root) walk(tree.root, d.path ?? "");
  return out;
}
