/**
 * grpc-js service definitions for the REAPI v2 services and ByteStream, built directly from the static
 * protobufjs classes of ./proto.ts (no proto-loader, no reflection): one `MethodDefinition` per RPC with
 * the static `encode`/`decode` of its request and response types. Both the client (lib/reapi/client.ts)
 * and the embedded server (lib/backend/) use these, so the wire paths are written down exactly once.
 *
 * Spec: REAPI v2 services Execution, ActionCache, ContentAddressableStorage, Capabilities and
 * google.bytestream.ByteStream; reference/reapi-buildbarn.md §1.1, reference/toolchain.md §2.
 */
import type * as grpc from "@grpc/grpc-js";
import { build, google } from "./proto.ts";
import R = build.bazel.remote.execution.v2;
import bytestream = google.bytestream;
import longrunning = google.longrunning;

/** gRPC message size cap applied on both sides (send and receive): 64 MiB. grpc-js defaults to 4 MiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** grpc-js channel/server options shared by the client and the embedded server. */
export const GRPC_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
};

/** The static-class shape shared by every generated message: `encode(m).finish()` and `decode(bytes)`. */
interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(r: Uint8Array): T;
}

/** Wraps encoded bytes in a Buffer without copying (grpc-js wants Buffers). */
function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function method<Req, Res>(
  service: string,
  name: string,
  req: Codec<Req>,
  res: Codec<Res>,
  requestStream = false,
  responseStream = false,
): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: (v: Req) => toBuffer(req.encode(v).finish()),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (v: Res) => toBuffer(res.encode(v).finish()),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: name,
  };
}

const V2 = "build.bazel.remote.execution.v2";

/**
 * `build.bazel.remote.execution.v2.Capabilities`: GetCapabilities (unary).
 * Spec: REAPI Capabilities.GetCapabilities.
 */
export const capabilitiesService = {
  GetCapabilities: method<R.IGetCapabilitiesRequest, R.IServerCapabilities>(
    `${V2}.Capabilities`, "GetCapabilities", R.GetCapabilitiesRequest, R.ServerCapabilities),
};

/**
 * `build.bazel.remote.execution.v2.ContentAddressableStorage`: FindMissingBlobs, BatchUpdateBlobs,
 * BatchReadBlobs (unary) and GetTree (server stream). SplitBlob/SpliceBlob are not served.
 * Spec: REAPI ContentAddressableStorage.
 */
export const casService = {
  FindMissingBlobs: method<R.IFindMissingBlobsRequest, R.IFindMissingBlobsResponse>(
    `${V2}.ContentAddressableStorage`, "FindMissingBlobs", R.FindMissingBlobsRequest, R.FindMissingBlobsResponse),
  BatchUpdateBlobs: method<R.IBatchUpdateBlobsRequest, R.IBatchUpdateBlobsResponse>(
    `${V2}.ContentAddressableStorage`, "BatchUpdateBlobs", R.BatchUpdateBlobsRequest, R.BatchUpdateBlobsResponse),
  BatchReadBlobs: method<R.IBatchReadBlobsRequest, R.IBatchReadBlobsResponse>(
    `${V2}.ContentAddressableStorage`, "BatchReadBlobs", R.BatchReadBlobsRequest, R.BatchReadBlobsResponse),
  GetTree: method<R.IGetTreeRequest, R.IGetTreeResponse>(
    `${V2}.ContentAddressableStorage`, "GetTree", R.GetTreeRequest, R.GetTreeResponse, false, true),
};

/**
 * `build.bazel.remote.execution.v2.ActionCache`: GetActionResult, UpdateActionResult (unary).
 * Spec: REAPI ActionCache.
 */
export const actionCacheService = {
  GetActionResult: method<R.IGetActionResultRequest, R.IActionResult>(
    `${V2}.ActionCache`, "GetActionResult", R.GetActionResultRequest, R.ActionResult),
  UpdateActionResult: method<R.IUpdateActionResultRequest, R.IActionResult>(
    `${V2}.ActionCache`, "UpdateActionResult", R.UpdateActionResultRequest, R.ActionResult),
};

/**
 * `build.bazel.remote.execution.v2.Execution`: Execute and WaitExecution, both server streams of
 * `google.longrunning.Operation`.
 * Spec: REAPI Execution.Execute / Execution.WaitExecution; reference/reapi-buildbarn.md §1.7.
 */
export const executionService = {
  Execute: method<R.IExecuteRequest, longrunning.IOperation>(
    `${V2}.Execution`, "Execute", R.ExecuteRequest, longrunning.Operation, false, true),
  WaitExecution: method<R.IWaitExecutionRequest, longrunning.IOperation>(
    `${V2}.Execution`, "WaitExecution", R.WaitExecutionRequest, longrunning.Operation, false, true),
};

/**
 * `google.bytestream.ByteStream`: Read (server stream), Write (client stream), QueryWriteStatus (unary).
 * Spec: google/bytestream/bytestream.proto; resource names in reference/reapi-buildbarn.md §1.6.
 */
export const byteStreamService = {
  Read: method<bytestream.IReadRequest, bytestream.IReadResponse>(
    "google.bytestream.ByteStream", "Read", bytestream.ReadRequest, bytestream.ReadResponse, false, true),
  Write: method<bytestream.IWriteRequest, bytestream.IWriteResponse>(
    "google.bytestream.ByteStream", "Write", bytestream.WriteRequest, bytestream.WriteResponse, true, false),
  QueryWriteStatus: method<bytestream.IQueryWriteStatusRequest, bytestream.IQueryWriteStatusResponse>(
    "google.bytestream.ByteStream", "QueryWriteStatus", bytestream.QueryWriteStatusRequest,
    bytestream.QueryWriteStatusResponse),
};

/** Type URL of a REAPI/google message packed in `google.protobuf.Any`. */
export const TYPE_URL = {
  executeOperationMetadata: `type.googleapis.com/${V2}.ExecuteOperationMetadata`,
  executeResponse: `type.googleapis.com/${V2}.ExecuteResponse`,
  preconditionFailure: "type.googleapis.com/google.rpc.PreconditionFailure",
} as const;

/** gRPC metadata key carrying a serialized `RequestMetadata`. Spec: reference/reapi-buildbarn.md §1.8. */
export const REQUEST_METADATA_KEY = `${V2}.requestmetadata-bin`;
