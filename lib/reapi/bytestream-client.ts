/**
 * ByteStream transfers for blobs too large for a CAS batch. Writes always start at offset 0, are
 * contiguous and end with `finish_write` (Buildbarn has no QueryWriteStatus, so a broken upload restarts
 * from 0); reads ask for the whole blob (`read_limit` 0, which Buildbarn requires).
 *
 * Spec: google.bytestream.ByteStream.Read/Write for REAPI; reference/reapi-buildbarn.md §1.6, §4.5.
 */
import { randomUUID } from "node:crypto";
import type { Digest } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { byteStreamService } from "./grpc-service.ts";
import { readResourceName, writeResourceName } from "./resource-name.ts";
import { type RpcCaller, toGomaError } from "./rpc-caller.ts";

/**
 * Bytes per WriteRequest: 32 KiB, so every message fits in HTTP/2's initial 64 KiB stream window. With
 * 1 MiB messages, Bun's node:http2 client (1.4.5) stalls for good when a grpc-go server — Buildbarn —
 * raises SETTINGS_INITIAL_WINDOW_SIZE (its BDP estimation) while a message waits for window: measured
 * against bb_storage, a 2.2 MB write hung in 10 of 10 tries with 1 MiB messages and in 0 of 24 with
 * ≤ 64 KiB ones (oven-sh/bun#30342, #40358 describe the same family). Smaller messages cost nothing
 * measurable (20 MB: 0.29 s either way when the large ones do not hang).
 */
export const WRITE_CHUNK_BYTES = 32 * 1024;

/**
 * How long a write of `bytes` may take before it is cancelled: 60 s plus 1 s per MiB (a stalled stream
 * should not hold a compile for the proxy's whole 10-minute RPC timeout).
 */
export function writeDeadlineMs(bytes: number): number {
  return 60_000 + Math.ceil(bytes / (1024 * 1024)) * 1000;
}

/**
 * Uploads one blob with ByteStream.Write under `{instance}/uploads/{uuid}/blobs/{hash}/{size}`.
 * The server may end the stream early (blob already present); that is success when it reports the
 * full size as committed. A write that has not finished within {@link writeDeadlineMs} is cancelled and
 * reported as Unavailable, so callers retry it on a fresh stream instead of waiting forever on a stalled
 * HTTP/2 stream.
 * @param data exactly the blob's bytes; the server verifies the digest.
 * @throws {GomaError} the server's status (e.g. InvalidArgument on a digest mismatch), DataLoss when
 * the committed size is not the blob size, Unavailable when the deadline passed.
 */
export async function byteStreamWrite(
  caller: RpcCaller,
  instanceName: string,
  digest: Digest,
  data: Uint8Array,
): Promise<void> {
  const resourceName = writeResourceName(instanceName, randomUUID(), digest);
  const { stream, response } = caller.clientStream(byteStreamService.Write);
  let settled = false;
  let timedOut = false;
  const deadlineMs = writeDeadlineMs(data.byteLength);
  const timer = setTimeout(() => {
    timedOut = true;
    stream.cancel();
  }, deadlineMs);
  const done = response.then(
    (res) => { settled = true; return res; },
    (err) => {
      settled = true;
      if (timedOut) {
        throw new GomaError(Code.Unavailable, `ByteStream.Write of "${resourceName}" did not finish within ${deadlineMs / 1000} s: cancelled`, { cause: err });
      }
      throw err;
    },
  ).finally(() => clearTimeout(timer));
  done.catch(() => {}); // awaited below; avoid an unhandled rejection while writing
  let offset = 0;
  do {
    const end = Math.min(offset + WRITE_CHUNK_BYTES, data.byteLength);
    const ok = stream.write({
      resourceName: offset === 0 ? resourceName : "",
      writeOffset: offset,
      finishWrite: end === data.byteLength,
      data: data.subarray(offset, end),
    });
    offset = end;
    if (!ok && !settled) {
      await new Promise<void>((resolve) => {
        stream.once("drain", resolve);
        done.then(() => resolve(), () => resolve());
      });
    }
  } while (offset < data.byteLength && !settled);
  stream.end();
  const res = await done;
  const committed = Number(res.committedSize ?? 0);
  if (committed !== digest.sizeBytes) {
    throw new GomaError(Code.DataLoss,
      `ByteStream.Write of "${resourceName}" committed ${committed} bytes, expected ${digest.sizeBytes}`);
  }
}

/**
 * Downloads one whole blob with ByteStream.Read of `{instance}/blobs/{hash}/{size}`.
 * The caller verifies the digest of the returned bytes.
 * @throws {GomaError} NotFound when the blob is absent; DataLoss when more or fewer bytes than
 * `digest.sizeBytes` arrive.
 */
export async function byteStreamRead(caller: RpcCaller, instanceName: string, digest: Digest): Promise<Uint8Array> {
  const resourceName = readResourceName(instanceName, digest);
  const out = Buffer.allocUnsafe(digest.sizeBytes);
  let n = 0;
  const stream = caller.serverStream(byteStreamService.Read, { resourceName, readOffset: 0, readLimit: 0 });
  try {
    for await (const chunk of stream as AsyncIterable<{ data?: Uint8Array | null }>) {
      const data = chunk.data ?? new Uint8Array(0);
      if (n + data.byteLength > out.byteLength) {
        stream.cancel();
        throw new GomaError(Code.DataLoss, `ByteStream.Read of "${resourceName}" returned more than ${digest.sizeBytes} bytes`);
      }
      out.set(data, n);
      n += data.byteLength;
    }
  } catch (err) {
    throw toGomaError(err);
  }
  if (n !== digest.sizeBytes) {
    throw new GomaError(Code.DataLoss, `ByteStream.Read of "${resourceName}" returned ${n} bytes, expected ${digest.sizeBytes}`);
  }
  return out;
}
