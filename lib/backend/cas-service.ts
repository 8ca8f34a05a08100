/**
 * The ContentAddressableStorage service of the embedded backend, over a {@link Cas}. The CAS is
 * shared by every instance name (like Buildbarn); instance names are only validated. Batch RPCs answer a
 * per-blob status and fail as a whole (INVALID_ARGUMENT) only when the batch exceeds the advertised
 * `max_batch_total_size_bytes`. GetTree walks Directory blobs breadth-first and omits missing parts.
 * zstd (REAPI v2.3): BatchUpdateBlobs takes `compressor` ZSTD per blob (decompressed up to the digest's
 * size, then verified against the digest like any blob); BatchReadBlobs answers zstd data, with
 * `compressor` ZSTD, when the request lists ZSTD in `acceptable_compressors`. The batch limit counts the
 * bytes as sent (compressed for uploads, uncompressed sizes for reads).
 *
 * Spec: REAPI ContentAddressableStorage.{FindMissingBlobs, BatchUpdateBlobs, BatchReadBlobs, GetTree};
 * reference/reapi-buildbarn.md §1.2, §4.6.
 */
import type * as grpc from "@grpc/grpc-js";
import { digestKey } from "../digest/digest.ts";
import type { Cas } from "../blobstore/cas.ts";
import { build } from "../reapi/proto.ts";
import { zstdCompress, zstdDecompress } from "../reapi/zstd.ts";
import { Code, GomaError } from "../util/status.ts";
import { EMBEDDED_MAX_BATCH_BYTES } from "./capabilities-service.ts";
import { requireDigest, requireInstanceName, requireSha256, rpcStatus, serverStream, unary } from "./grpc-handler.ts";
import R = build.bazel.remote.execution.v2;

/** Directories per GetTreeResponse when the request gives no page size. */
const DEFAULT_TREE_PAGE = 1000;

/** Rejects batches whose total data exceeds the advertised limit. */
function checkBatchSize(totalBytes: number, rpc: string): void {
  if (totalBytes > EMBEDDED_MAX_BATCH_BYTES) {
    throw new GomaError(Code.InvalidArgument,
      `${rpc} of ${totalBytes} bytes exceeds max_batch_total_size_bytes ${EMBEDDED_MAX_BATCH_BYTES}`);
  }
}

/**
 * grpc-js handlers for `build.bazel.remote.execution.v2.ContentAddressableStorage`.
 * Concurrency: requests are served concurrently; the disk CAS tolerates racing writes of one blob.
 */
export function casHandlers(cas: Cas): grpc.UntypedServiceImplementation {
  return {
    FindMissingBlobs: unary(async (req: R.IFindMissingBlobsRequest): Promise<R.IFindMissingBlobsResponse> => {
      requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const digests = (req.blobDigests ?? []).map((d, i) => requireDigest(d, `blob_digests[${i}]`));
      return { missingBlobDigests: await cas.findMissing(digests) };
    }),

    BatchUpdateBlobs: unary(async (req: R.IBatchUpdateBlobsRequest): Promise<R.IBatchUpdateBlobsResponse> => {
      requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const requests = req.requests ?? [];
      checkBatchSize(requests.reduce((n, r) => n + (r.data?.byteLength ?? 0), 0), "BatchUpdateBlobs");
      const responses = await Promise.all(requests.map(async (r, i): Promise<R.BatchUpdateBlobsResponse.IResponse> => {
        try {
          const d = requireDigest(r.digest, `requests[${i}].digest`);
          let data = r.data ?? new Uint8Array(0);
          if (r.compressor === R.Compressor.Value.ZSTD) {
            data = await zstdDecompress(data, d.sizeBytes, `requests[${i}] (${digestKey(d)})`);
          } else if (r.compressor) {
            throw new GomaError(Code.InvalidArgument, `Compressor ${R.Compressor.Value[r.compressor] ?? r.compressor} is not supported: this server supports IDENTITY and ZSTD`);
          }
          await cas.put(d, data);
          return { digest: r.digest, status: { code: Code.OK } };
        } catch (err) {
          return { digest: r.digest, status: rpcStatus(err) };
        }
      }));
      return { responses };
    }),

    BatchReadBlobs: unary(async (req: R.IBatchReadBlobsRequest): Promise<R.IBatchReadBlobsResponse> => {
      requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const digests = (req.digests ?? []).map((d, i) => requireDigest(d, `digests[${i}]`));
      checkBatchSize(digests.reduce((n, d) => n + d.sizeBytes, 0), "BatchReadBlobs");
      const zstd = (req.acceptableCompressors ?? []).includes(R.Compressor.Value.ZSTD);
      const responses = await Promise.all(digests.map(async (d): Promise<R.BatchReadBlobsResponse.IResponse> => {
        const data = await cas.get(d);
        if (!data) return { digest: d, status: { code: Code.NotFound, message: `Blob ${digestKey(d)} not found` } };
        if (zstd) return { digest: d, data: await zstdCompress(data), compressor: R.Compressor.Value.ZSTD, status: { code: Code.OK } };
        return { digest: d, data, status: { code: Code.OK } };
      }));
      return { responses };
    }),

    GetTree: serverStream(async (req: R.IGetTreeRequest, call: grpc.ServerWritableStream<R.IGetTreeRequest, R.IGetTreeResponse>) => {
      requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const root = requireDigest(req.rootDigest, "root_digest");
      const pageSize = req.pageSize && req.pageSize > 0 ? req.pageSize : DEFAULT_TREE_PAGE;
      let skip = req.pageToken ? Number(req.pageToken) : 0;
      if (!Number.isSafeInteger(skip) || skip < 0) throw new GomaError(Code.InvalidArgument, `Invalid page_token "${req.pageToken}"`);
      const seen = new Set<string>([digestKey(root)]);
      const queue = [root];
      let page: R.IDirectory[] = [];
      let index = 0;
      while (queue.length > 0) {
        const d = queue.shift()!;
        const data = await cas.get(d);
        if (!data) continue; // spec: missing parts of the tree are omitted
        let dir: R.Directory;
        try {
          dir = R.Directory.decode(data);
        } catch (err) {
          throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(d)} is not a Directory: ${(err as Error).message}`);
        }
        for (const child of dir.directories) {
          const cd = requireDigest(child.digest, `directory "${child.name}" digest`);
          if (!seen.has(digestKey(cd))) {
            seen.add(digestKey(cd));
            queue.push(cd);
          }
        }
        if (skip > 0) { skip--; index++; continue; }
        page.push(dir);
        index++;
        if (page.length >= pageSize) {
          call.write({ directories: page, nextPageToken: queue.length > 0 ? String(index) : "" });
          page = [];
        }
      }
      if (page.length > 0) call.write({ directories: page, nextPageToken: "" });
    }),
  };
}
