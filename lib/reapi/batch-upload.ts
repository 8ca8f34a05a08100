/**
 * Packs small blobs into BatchUpdateBlobs requests under a byte cap and checks every per-blob status.
 * Blobs that fail with a transient code (UNAVAILABLE, RESOURCE_EXHAUSTED) are retried with backoff;
 * any other per-blob failure is thrown at once with the blob named.
 *
 * Spec: REAPI ContentAddressableStorage.BatchUpdateBlobs ("the server may return a per-blob status");
 * reference/reapi-buildbarn.md §1.2, §4.5.
 */
import { type Digest, digestKey } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { casService } from "./grpc-service.ts";
import { BATCH_RETRY, isRetryable, withRetry } from "./retry.ts";
import type { RpcCaller } from "./rpc-caller.ts";

/** Bytes counted per blob on top of its data (digest, field tags, lengths): a generous bound. */
export const BATCH_ENTRY_OVERHEAD_BYTES = 128;
/** Blobs per batch request at most. */
export const MAX_BATCH_BLOBS = 1000;
/** Batch requests in flight at once. */
const PARALLEL_BATCHES = 4;

/** A blob to upload: its digest and exactly its bytes. */
export interface BlobUpload {
  digest: Digest;
  data: Uint8Array;
}

/**
 * Splits `blobs` into batches whose `data + overhead` sums stay ≤ `capBytes` and that hold ≤ 1000 blobs.
 * A single blob above the cap gets a batch of its own (callers send those by ByteStream instead).
 * @example packBatches([{digest, data}], 2 << 20) // [[{digest, data}]]
 */
export function packBatches<T extends BlobUpload>(blobs: T[], capBytes: number): T[][] {
  const batches: T[][] = [];
  let cur: T[] = [];
  let curBytes = 0;
  for (const b of blobs) {
    const cost = b.data.byteLength + BATCH_ENTRY_OVERHEAD_BYTES;
    if (cur.length > 0 && (curBytes + cost > capBytes || cur.length >= MAX_BATCH_BLOBS)) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(b);
    curBytes += cost;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** Sends one batch, retrying only the blobs whose status is transient. */
async function sendBatch(caller: RpcCaller, instanceName: string, batch: BlobUpload[]): Promise<void> {
  let pending = batch;
  await withRetry(BATCH_RETRY, async () => {
    const res = await caller.unary(casService.BatchUpdateBlobs, {
      instanceName,
      requests: pending.map((b) => ({ digest: b.digest, data: b.data })),
    });
    const byKey = new Map(pending.map((b) => [digestKey(b.digest), b]));
    const retry: BlobUpload[] = [];
    let transient: GomaError | undefined;
    for (const r of res.responses ?? []) {
      const code = (r.status?.code ?? 0) as Code;
      if (code === Code.OK) continue;
      const key = `${r.digest?.hash}/${Number(r.digest?.sizeBytes ?? 0)}`;
      const e = new GomaError(code, `Failed to upload blob ${key}: ${r.status?.message ?? ""}`);
      if (!isRetryable(BATCH_RETRY, e)) throw e;
      const blob = byKey.get(key);
      if (blob) retry.push(blob);
      transient ??= e;
    }
    if (transient) {
      pending = retry;
      throw transient;
    }
  });
}

/**
 * Uploads `blobs` in batches of at most `capBytes` each, a few batches in parallel.
 * @throws {GomaError} the first non-transient per-blob or RPC failure, or the last transient one once
 * retries are exhausted.
 */
export async function uploadInBatches(
  caller: RpcCaller,
  instanceName: string,
  blobs: BlobUpload[],
  capBytes: number,
): Promise<void> {
  const batches = packBatches(blobs, capBytes);
  for (let i = 0; i < batches.length; i += PARALLEL_BATCHES) {
    await Promise.all(batches.slice(i, i + PARALLEL_BATCHES).map((b) => sendBatch(caller, instanceName, b)));
  }
}
