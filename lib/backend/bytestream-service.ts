/**
 * The ByteStream service of the embedded backend, for blobs larger than a CAS batch. Resource names are
 * parsed per REAPI (instance name = everything before `blobs`/`uploads`; `""` has no leading slash).
 * Writes must be contiguous from offset 0 and end with `finish_write`; the digest is verified before the
 * blob becomes visible. A write of a blob already present ends early with `committed_size` = its size.
 * Reads honour `read_offset`/`read_limit` and stream 64 KiB chunks with back-pressure.
 *
 * Spec: google.bytestream.ByteStream.{Read, Write, QueryWriteStatus} for REAPI;
 * reference/reapi-buildbarn.md §1.6, §4.5.
 */
import type * as grpc from "@grpc/grpc-js";
import type { CasWriter } from "../blobstore/cas-writer.ts";
import type { DiskCas } from "../blobstore/disk-cas.ts";
import { google } from "../reapi/proto.ts";
import { parseReadResourceName, parseWriteResourceName } from "../reapi/resource-name.ts";
import { Code, GomaError } from "../util/status.ts";
import { grpcStatus, serverStream, unary } from "./grpc-handler.ts";
import bs = google.bytestream;

/** Writes one ByteStream upload into the CAS; resolves with the response to send. */
async function receiveWrite(
  cas: DiskCas,
  uploads: Map<string, CasWriter>,
  call: grpc.ServerReadableStream<bs.IWriteRequest, bs.IWriteResponse>,
): Promise<bs.IWriteResponse> {
  let writer: CasWriter | undefined;
  let name = "";
  let finished = false;
  try {
    for await (const req of call as AsyncIterable<bs.IWriteRequest>) {
      if (finished) throw new GomaError(Code.InvalidArgument, `WriteRequest for "${name}" after finish_write`);
      if (!writer) {
        name = req.resourceName ?? "";
        if (!name) throw new GomaError(Code.InvalidArgument, "The first WriteRequest has no resource_name");
        const { digest } = parseWriteResourceName(name);
        // Already present (and intact: a corrupt copy is removed and uploaded again): end early.
        if ((await cas.has(digest)) && (await cas.verify(digest))) return { committedSize: digest.sizeBytes };
        writer = await cas.createWriter(digest);
        uploads.set(name, writer);
      } else if (req.resourceName && req.resourceName !== name) {
        throw new GomaError(Code.InvalidArgument, `resource_name changed from "${name}" to "${req.resourceName}"`);
      }
      const offset = Number(req.writeOffset ?? 0);
      if (offset !== writer.committedBytes) {
        throw new GomaError(Code.InvalidArgument,
          `write_offset ${offset} of "${name}" does not follow the ${writer.committedBytes} bytes received`);
      }
      if (req.data && req.data.byteLength > 0) await writer.write(req.data);
      if (req.finishWrite) {
        await writer.commit();
        finished = true;
      }
    }
    if (!writer) throw new GomaError(Code.InvalidArgument, "ByteStream.Write received no WriteRequest");
    if (!finished) throw new GomaError(Code.InvalidArgument, `Write of "${name}" ended without finish_write`);
    return { committedSize: writer.committedBytes };
  } finally {
    if (writer && !finished) await writer.abort();
    if (name && uploads.get(name) === writer) uploads.delete(name);
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
 * grpc-js handlers for `google.bytestream.ByteStream`. In-progress uploads are tracked by resource name
 * for QueryWriteStatus.
 */
export function byteStreamHandlers(cas: DiskCas): grpc.UntypedServiceImplementation {
  const uploads = new Map<string, CasWriter>();
  const write: grpc.handleClientStreamingCall<bs.IWriteRequest, bs.IWriteResponse> = (call, callback) => {
    receiveWrite(cas, uploads, call).then(
      (res) => callback(null, res),
      (err) => callback(grpcStatus(err) as grpc.ServerErrorResponse),
    );
  };
  return {
    Read: serverStream(async (req: bs.IReadRequest, call: grpc.ServerWritableStream<bs.IReadRequest, bs.IReadResponse>) => {
      const { digest } = parseReadResourceName(req.resourceName ?? "");
      const offset = Number(req.readOffset ?? 0), limit = Number(req.readLimit ?? 0);
      if (offset < 0) throw new GomaError(Code.OutOfRange, `Negative read_offset ${offset}`);
      if (limit < 0) throw new GomaError(Code.OutOfRange, `Negative read_limit ${limit}`);
      for await (const data of cas.read(digest, offset, limit)) {
        if (call.cancelled) return;
        if (!call.write({ data })) await drained(call);
      }
    }),
    Write: write,
    QueryWriteStatus: unary(async (req: bs.IQueryWriteStatusRequest): Promise<bs.IQueryWriteStatusResponse> => {
      const name = req.resourceName ?? "";
      const { digest } = parseWriteResourceName(name);
      const w = uploads.get(name);
      if (w) return { committedSize: w.committedBytes, complete: false };
      if (await cas.has(digest)) return { committedSize: digest.sizeBytes, complete: true };
      throw new GomaError(Code.NotFound, `No upload in progress for "${name}"`);
    }),
  };
}
