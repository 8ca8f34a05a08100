/**
 * What the server needs from a REAPI backend: the subset of lib/reapi/client.ts's ReapiClient that the
 * `/e` adapter calls. The embedded backend and any external service (Buildbarn, BuildGrid …) are both
 * reached through that one gRPC client.
 */
import type { Digest } from "../digest/digest.ts";
import type { R } from "../reapi/proto.ts";

type ActionResult = InstanceType<typeof R.ActionResult> | import("../reapi/gen/reapi.js").build.bazel.remote.execution.v2.IActionResult;
type ExecuteResponse = import("../reapi/gen/reapi.js").build.bazel.remote.execution.v2.IExecuteResponse;

/** The REAPI operations of the `/e` adapter (Spec: REAPI v2 CAS, ActionCache, Execution). */
export interface Reapi {
  findMissingBlobs(digests: Digest[]): Promise<Digest[]>;
  uploadBlobs(blobs: { digest: Digest; data: Uint8Array }[]): Promise<void>;
  readBlob(digest: Digest): Promise<Uint8Array>;
  /**
   * Several blobs at once (verified), by digest key: what the adapter reads of one ActionResult in one
   * round trip (ReapiClient: BatchReadBlobs). Optional: without it they are read one by one.
   */
  readBlobs?(digests: Digest[]): Promise<Map<string, Uint8Array>>;
  getActionResult(actionDigest: Digest, opts?: { inlineStdout?: boolean; inlineStderr?: boolean }): Promise<ActionResult | undefined>;
  execute(actionDigest: Digest, opts?: { skipCacheLookup?: boolean }): Promise<ExecuteResponse>;
}
