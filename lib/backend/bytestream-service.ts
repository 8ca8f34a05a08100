/**
 * The ByteStream service of the embedded backend, for blobs larger than a CAS batch. Resource names are
 * parsed per REAPI (instance name = everything before `blobs`/`uploads`; `""` has no leading slash).
 * Writes must be contiguous from offset 0 and end with `finish_write`; the digest is verified before the
 * blob becomes visible. A write of a blob already present ends early with `committed_size` = its size.
 * Reads honour `read_offset`/`read_limit` and stream 64 KiB chunks with back-pressure.
 *
 * zstd (`compressed-blobs/zstd/{hash}/{size}`, REAPI v2.3): a Write's data is a zstd stream of the blob
 * named by the uncompressed digest; it is decompressed as it arrives (never more than the digest's size)
 * and the decompressed data is verified like any other. `write_offset` counts compressed bytes (the
 * first is 0), so does `committed_size`; a blob already present ends the Write early with
 * `committed_size` -1. A compressed Read streams a zstd frame of the blob from `read_offset` (in the
 * uncompressed data); `read_limit` must be 0 (as in Buildbarn).
 *
 * Spec: google.bytestream.ByteStream.{Read, Write, QueryWriteStatus} for REAPI;
 * reference/reapi-buildbarn.md §1.6, §4.5.
 */
import type * as grpc from "@grpc/grpc-js";
import { once } from "node:events";
import type { Transform } from "node:stream";
import type { BlobWriter, Cas } from "../blobstore/cas.ts";
import { google } from "../reapi/proto.ts";
import { parseReadResourceName, parseWriteResourceName } from "../reapi/resource-name.ts";
import { decompressError, zstdCompressStream, zstdDecompressStream } from "../reapi/zstd.ts";
import { Code, GomaError } from "../util/status.ts";
import { grpcStatus, serverStream, unary } from "./grpc-handler.ts";
import bs = google.bytestream;

/** An upload in progress: its CAS writer and, for a compressed one, the compressed bytes received. */
interface Upload {
  writer: BlobWriter;
  /** Bytes as the client counts them (`write_offset`, `committed_size`). */
  received(): number;
}

/**
 * Feeds a zstd stream into a BlobWriter: `push` compressed chunks (waits while the decompressor is full),
 * then `end` (resolves once everything decompressed has been written). The writer refuses more than the
 * digest's size, so a decompression bomb stops at that size.
 */
class ZstdSink {
  readonly #d: Transform = zstdDecompressStream();
  readonly #done: Promise<void>;
  #failure: unknown;

  constructor(writer: BlobWriter, what: string) {
    this.#done = (async () => {
      for await (const chunk of this.#d as AsyncIterable<Buffer>) await writer.write(chunk);
    })().catch((err) => {
      this.#failure = decompressError(err, writer.digest.sizeBytes, what);
      this.#d.destroy();
      throw this.#failure;
    });
    this.#done.catch(() => {});
  }

  async push(data: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (!this.#d.write(data)) await Promise.race([once(this.#d, "drain"), this.#done]);
    if (this.#failure) throw this.#failure;
  }

  async end(): Promise<void> {
    if (this.#failure) throw this.#failure;
    this.#d.end();
    await this.#done;
  }

  abort(): void {
    this.#d.destroy();
  }
}

/** Writes one ByteStream upload into the CAS; resolves with the response to send. */
async function receiveWrite(
  cas: Cas,
  uploads: Map<string, Upload>,
  call: grpc.ServerReadableStream<bs.IWriteRequest, bs.IWriteResponse>,
): Promise<bs.IWriteResponse> {
  let upload: Upload | undefined;
  let sink: ZstdSink | undefined;
  let name = "";
  let finished = false;
  try {
    for await (const req of call as AsyncIterable<bs.IWriteRequest>) {
      if (finished) throw new GomaError(Code.InvalidArgument, `WriteRequest for "${name}" after finish_write`);
      if (!upload) {
        name = req.resourceName ?? "";
        if (!name) throw new GomaError(Code.InvalidArgument, "The first WriteRequest has no resource_name");
        const { digest, compressor } = parseWriteResourceName(name);
        // Already present (and intact: a corrupt copy is removed and uploaded again): end early.
        if ((await cas.has(digest)) && (await cas.verify(digest))) return { committedSize: compressor ? -1 : digest.sizeBytes };
        const writer = await cas.createWriter(digest);
        if (compressor) {
          let compressed = 0;
          const s = new ZstdSink(writer, `Write of "${name}"`);
          sink = s;
          upload = { writer, received: () => compressed };
          const push = s.push.bind(s);
          s.push = async (data) => { compressed += data.byteLength; await push(data); };
        } else {
          upload = { writer, received: () => writer.committedBytes };
        }
        uploads.set(name, upload);
      } else if (req.resourceName && req.resourceName !== name) {
        throw new GomaError(Code.InvalidArgument, `resource_name changed from "${name}" to "${req.resourceName}"`);
      }
      const offset = Number(req.writeOffset ?? 0);
      if (offset !== upload.received()) {
        throw new GomaError(Code.InvalidArgument,
          `write_offset ${offset} of "${name}" does not follow the ${upload.received()} bytes received`);
      }
      if (req.data && req.data.byteLength > 0) {
        if (sink) await sink.push(req.data);
        else await upload.writer.write(req.data);
      }
      if (req.finishWrite) {
        await sink?.end();
        await upload.writer.commit();
        finished = true;
      }
    }
    if (!upload) throw new GomaError(Code.InvalidArgument, "ByteStream.Write received no WriteRequest");
    if (!finished) throw new GomaError(Code.InvalidArgument, `Write of "${name}" ended without finish_write`);
    return { committedSize: upload.received() };
  } finally {
    if (upload && !finished) {
      sink?.abort();
      await upload.writer.abort();
    }
    if (name && uploads.get(name) === upload) uploads.delete(name);
  }
}

/** Resolves when the stream drains or the call goes away. */
function drained(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve();
    };
    call.once("drain", done);
    call.once("cancelled", done);
  });
}

/**
 * zstd-compresses a stream of chunks (one frame), pulling from `source` only as fast as the output is
 * consumed. A failure of `source` (missing or corrupt blob) is thrown as it is.
 */
async function* compressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = zstdCompressStream();
  let failure: unknown;
  const feed = (async () => {
    for await (const chunk of source) {
      if (z.destroyed) return; // the reader went away
      if (!z.write(chunk)) await new Promise((resolve) => { z.once("drain", resolve); z.once("close", resolve); });
    }
    if (!z.destroyed) z.end();
  })().catch((err) => {
    failure = err;
    z.destroy();
  });
  try {
    for await (const out of z as AsyncIterable<Buffer>) yield out;
  } catch (err) {
    throw failure ?? err;
  } finally {
    z.destroy();
    await feed;
  }
  if (failure) throw failure;
}

/**
 * grpc-js handlers for `google.bytestream.ByteStream`. In-progress uploads are tracked by resource name
 * for QueryWriteStatus.
 */
export function byteStreamHandlers(cas: Cas): grpc.UntypedServiceImplementation {
  const uploads = new Map<string, Upload>();
  const write: grpc.handleClientStreamingCall<bs.IWriteRequest, bs.IWriteResponse> = (call, callback) => {
    receiveWrite(cas, uploads, call).then(
      (res) => callback(null, res),
      (err) => callback(grpcStatus(err) as grpc.ServerErrorResponse),
    );
  };
  return {
    Read: serverStream(async (req: bs.IReadRequest, call: grpc.ServerWritableStream<bs.IReadRequest, bs.IReadResponse>) => {
      const { digest, compressor } = parseReadResourceName(req.resourceName ?? "");
      const offset = Number(req.readOffset ?? 0), limit = Number(req.readLimit ?? 0);
      if (offset < 0) throw new GomaError(Code.OutOfRange, `Negative read_offset ${offset}`);
      if (limit < 0) throw new GomaError(Code.OutOfRange, `Negative read_limit ${limit}`);
      if (compressor && limit !== 0) throw new GomaError(Code.InvalidArgument, `read_limit ${limit} with compressed-blobs: only 0 (no limit) is supported`);
      const source = cas.read(digest, offset, limit);
      const chunks = compressor ? compressed(source) : source;
      for await (const data of chunks) {
        if (call.cancelled) return;
        if (!call.write({ data })) await drained(call);
      }
    }),
    Write: write,
    QueryWriteStatus: unary(async (req: bs.IQueryWriteStatusRequest): Promise<bs.IQueryWriteStatusResponse> => {
      const name = req.resourceName ?? "";
      const { digest } = parseWriteResourceName(name);
      const w = uploads.get(name);
      if (w) return { committedSize: w.received(), complete: false };
      if (await cas.has(digest)) return { committedSize: digest.sizeBytes, complete: true };
      throw new GomaError(Code.NotFound, `No upload in progress for "${name}"`);
    }),
  };
}
