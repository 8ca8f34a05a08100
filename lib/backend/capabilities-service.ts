/**
 * The Capabilities service of the embedded backend. It advertises exactly what the embedded server
 * implements: SHA-256 only, AC updates allowed, a real batch limit (unlike Buildbarn, which reports 0),
 * absolute symlinks allowed, zstd for ByteStream `compressed-blobs` and batch calls, remote execution
 * enabled, and REAPI versions 2.0 (deprecated) to 2.3.
 *
 * Spec: REAPI Capabilities.GetCapabilities, ServerCapabilities; reference/reapi-buildbarn.md §1.9, §4.6.
 */
import type * as grpc from "@grpc/grpc-js";
import { build } from "../reapi/proto.ts";
import { requireInstanceName, unary } from "./grpc-handler.ts";
import R = build.bazel.remote.execution.v2;

/** `CacheCapabilities.max_batch_total_size_bytes` of the embedded server: 4 MiB. */
export const EMBEDDED_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * The ServerCapabilities the embedded backend reports, for any instance name.
 * Spec: REAPI ServerCapabilities{cache_capabilities, execution_capabilities, *_api_version}.
 */
export function embeddedCapabilities(): R.IServerCapabilities {
  const SHA256 = R.DigestFunction.Value.SHA256;
  return {
    cacheCapabilities: {
      digestFunctions: [SHA256],
      actionCacheUpdateCapabilities: { updateEnabled: true },
      maxBatchTotalSizeBytes: EMBEDDED_MAX_BATCH_BYTES,
      symlinkAbsolutePathStrategy: R.SymlinkAbsolutePathStrategy.Value.ALLOWED,
      supportedCompressors: [R.Compressor.Value.ZSTD],
      supportedBatchUpdateCompressors: [R.Compressor.Value.ZSTD],
    },
    executionCapabilities: {
      digestFunction: SHA256,
      digestFunctions: [SHA256],
      execEnabled: true,
    },
    deprecatedApiVersion: { major: 2, minor: 0 },
    lowApiVersion: { major: 2, minor: 0 },
    highApiVersion: { major: 2, minor: 3 },
  };
}

/**
 * grpc-js handlers for `build.bazel.remote.execution.v2.Capabilities`.
 * Spec: REAPI Capabilities.GetCapabilities (instance name validated, otherwise ignored).
 */
export function capabilitiesHandlers(): grpc.UntypedServiceImplementation {
  return {
    GetCapabilities: unary(async (req: R.IGetCapabilitiesRequest) => {
      requireInstanceName(req.instanceName);
      return embeddedCapabilities();
    }),
  };
}
