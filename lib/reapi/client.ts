/**
 * The REAPI v2 gRPC client: CAS (FindMissingBlobs, batches, ByteStream), ActionCache, Execution and
 * Capabilities over one channel. Written against Buildbarn's behaviour (reference/reapi-buildbarn.md §4.5):
 * `max_batch_total_size_bytes` 0 means "no declared limit", so batches use our own cap; GetTree is never
 * called; ByteStream writes start at 0 and end with `finish_write`; stdout/stderr may come only by digest.
 * Transient failures (UNAVAILABLE; RESOURCE_EXHAUSTED for batches) are retried with bounded backoff.
 * Every failure is a {@link GomaError} with the gRPC code kept.
 *
 * Spec: REAPI v2 (remote_execution.proto); reference/reapi-buildbarn.md §1, §2, §4.5.
 */
import { randomUUID } from "node:crypto";
import { type Digest, digestKey, digestOf, toDigest } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { BATCH_ENTRY_OVERHEAD_BYTES, uploadInBatches } from "./batch-upload.ts";
import { byteStreamRead, byteStreamWrite } from "./bytestream-client.ts";
import { executeAndWait, type ExecuteOptions } from "./execute-client.ts";
import { actionCacheService, capabilitiesService, casService } from "./grpc-service.ts";
import { build } from "./proto.ts";
import { BATCH_RETRY, DEFAULT_RETRY, withRetry } from "./retry.ts";
import type { InProcessServer } from "./in-process-server.ts";
import { RpcCaller } from "./rpc-caller.ts";
import type { TlsMaterial } from "./tls-credentials.ts";
import R = build.bazel.remote.execution.v2;

/**
 * How to reach a REAPI endpoint and how to identify ourselves.
 * Spec: REAPI instance_name (reference/reapi-buildbarn.md §2), RequestMetadata.tool_details (§1.8),
 * CacheCapabilities.max_batch_total_size_bytes (§4.5).
 */
export interface ReapiClientOptions {
  /** `"127.0.0.1:8980"` or `"unix:/path"`. */
  target: string;
  /** REAPI instance name; `""` stays `""` (never `"."`). */
  instanceName: string;
  /** Plaintext; default true for loopback and unix targets, else TLS. */
  insecure?: boolean;
  /** TLS material, or a function returning it (a new object when it changed: see rpc-caller.ts). */
  tls?: TlsMaterial | (() => TlsMaterial);
  /** Called per call; when it returns a token, `authorization: Bearer <token>` is sent. */
  bearerToken?: () => string | undefined;
  /** Our own batch cap in bytes; default min(capabilities.max_batch_total_size_bytes || ∞, 2 MiB). */
  maxBatchBytes?: number;
  /** Deadline of each unary call in ms (default 60 s): a hung backend fails fast instead of holding a compile. */
  unaryTimeoutMs?: number;
  /** Called when an operation the backend lost (ExecuteResponse status UNAVAILABLE) is executed again. */
  onExecuteRetry?: (actionDigest: Digest, message: string, attempt: number) => void;
  /**
   * The embedded backend's services in this process (lib/reapi/in-process-server.ts): calls skip the
   * loopback channel; `target` is then only a name.
   */
  inProcess?: InProcessServer;
  /** `RequestMetadata.tool_details`. */
  toolName?: string;
  toolVersion?: string;
}

/**
 * Default batch cap: 2 MiB, safe against Buildbarn's 4 MiB default receive limit.
 * Spec: reference/reapi-buildbarn.md §4.5 ("the client needs its own cap").
 */
export const DEFAULT_MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** Digests per FindMissingBlobs request. */
const FIND_MISSING_CHUNK = 10_000;

/**
 * A REAPI v2 client bound to one endpoint and instance name. Safe for concurrent use; each call is
 * independent. Call {@link close} when done.
 * Spec: REAPI v2 Capabilities, ContentAddressableStorage, ActionCache, Execution; google.bytestream.
 */
export class ReapiClient {
  readonly instanceName: string;
  readonly #caller: RpcCaller;
  readonly #opts: ReapiClientOptions;
  #capabilities?: Promise<R.IServerCapabilities>;

  constructor(opts: ReapiClientOptions) {
    this.#opts = opts;
    this.instanceName = opts.instanceName;
    const requestMetadata = R.RequestMetadata.encode({
      toolDetails: { toolName: opts.toolName ?? "goma", toolVersion: opts.toolVersion ?? "" },
      toolInvocationId: randomUUID(),
    }).finish();
    this.#caller = new RpcCaller({ ...opts, requestMetadata });
  }

  /**
   * The server's capabilities, fetched once (a failure is not cached).
   * Spec: REAPI Capabilities.GetCapabilities.
   * @throws {GomaError} the server's status.
   */
  getCapabilities(): Promise<R.IServerCapabilities> {
    this.#capabilities ??= withRetry(DEFAULT_RETRY, () =>
      this.#caller.unary(capabilitiesService.GetCapabilities, { instanceName: this.instanceName }));
    this.#capabilities.catch(() => { this.#capabilities = undefined; });
    return this.#capabilities;
  }

  /** The batch cap in bytes: the option, else min(server limit || ∞, 2 MiB). */
  async #batchCap(): Promise<number> {
    if (this.#opts.maxBatchBytes) return this.#opts.maxBatchBytes;
    let caps: R.IServerCapabilities;
    try {
      caps = await this.getCapabilities();
    } catch (err) {
      if (GomaError.from(err).code === Code.Unimplemented) return DEFAULT_MAX_BATCH_BYTES; // CAS-only servers
      throw err;
    }
    const server = Number(caps.cacheCapabilities?.maxBatchTotalSizeBytes ?? 0);
    return server > 0 ? Math.min(server, DEFAULT_MAX_BATCH_BYTES) : DEFAULT_MAX_BATCH_BYTES;
  }

  /**
   * The subset of `digests` the CAS lacks (deduplicated; the empty blob is never reported missing).
   * Spec: REAPI ContentAddressableStorage.FindMissingBlobs.
   * @throws {GomaError} the server's status.
   */
  async findMissingBlobs(digests: Digest[]): Promise<Digest[]> {
    const unique = [...new Map(digests.filter((d) => d.sizeBytes > 0).map((d) => [digestKey(d), d])).values()];
    const missing: Digest[] = [];
    for (let i = 0; i < unique.length; i += FIND_MISSING_CHUNK) {
      const res = await withRetry(DEFAULT_RETRY, () => this.#caller.unary(casService.FindMissingBlobs,
        { instanceName: this.instanceName, blobDigests: unique.slice(i, i + FIND_MISSING_CHUNK) }));
      for (const d of res.missingBlobDigests ?? []) missing.push(toDigest(d));
    }
    return missing;
  }

  /**
   * Uploads blobs: BatchUpdateBlobs for blobs under the batch cap (≤ 1000 per batch), ByteStream Write
   * for larger ones. Empty blobs are skipped. Per-blob statuses are checked.
   * Spec: REAPI ContentAddressableStorage.BatchUpdateBlobs; google.bytestream.ByteStream.Write.
   * @throws {GomaError} the first failing blob's status, e.g. InvalidArgument when data and digest differ.
   */
  async uploadBlobs(blobs: { digest: Digest; data: Uint8Array }[]): Promise<void> {
    const cap = await this.#batchCap();
    const unique = [...new Map(blobs.filter((b) => b.digest.sizeBytes > 0 || b.data.byteLength > 0)
      .map((b) => [digestKey(b.digest), b])).values()];
    const fits = (b: { data: Uint8Array }) => b.data.byteLength + BATCH_ENTRY_OVERHEAD_BYTES <= cap;
    const large = unique.filter((b) => !fits(b));
    const small = unique.filter(fits);
    await uploadInBatches(this.#caller, this.instanceName, small, cap);
    for (const b of large) {
      await withRetry(DEFAULT_RETRY, () => byteStreamWrite(this.#caller, this.instanceName, b.digest, b.data));
    }
  }

  /**
   * Reads one blob: BatchReadBlobs when it fits the batch cap, ByteStream Read otherwise. The bytes are
   * verified against the digest.
   * Spec: REAPI ContentAddressableStorage.BatchReadBlobs; google.bytestream.ByteStream.Read.
   * @throws {GomaError} NotFound when absent; DataLoss when the bytes do not match the digest.
   */
  async readBlob(digest: Digest): Promise<Uint8Array> {
    if (digest.sizeBytes === 0) return new Uint8Array(0);
    let data: Uint8Array;
    if (digest.sizeBytes + BATCH_ENTRY_OVERHEAD_BYTES <= (await this.#batchCap())) {
      const res = await withRetry(BATCH_RETRY, () =>
        this.#caller.unary(casService.BatchReadBlobs, { instanceName: this.instanceName, digests: [digest] }));
      const r = res.responses?.[0];
      if (!r) throw new GomaError(Code.Internal, `BatchReadBlobs returned no response for ${digestKey(digest)}`);
      if (r.status?.code) {
        throw new GomaError(r.status.code as Code, r.status.message || `Failed to read blob ${digestKey(digest)}`);
      }
      data = r.data ?? new Uint8Array(0);
    } else {
      data = await withRetry(DEFAULT_RETRY, () => byteStreamRead(this.#caller, this.instanceName, digest));
    }
    const got = digestOf(data);
    if (got.hash !== digest.hash || got.sizeBytes !== digest.sizeBytes) {
      throw new GomaError(Code.DataLoss, `Blob ${digestKey(digest)} arrived with digest ${digestKey(got)}`);
    }
    return data;
  }

  /**
   * Reads several blobs, verified as {@link ReapiClient.readBlob} verifies one: those that fit the batch
   * cap together in as few BatchReadBlobs calls as the cap allows (one for an action's outputs, stdout
   * and stderr), larger ones by ByteStream Read. Duplicates are read once; the empty blob is not read.
   * @returns the bytes by digest key (`hash/size`, lib/digest/digest.ts `digestKey`), every digest asked.
   * Spec: REAPI ContentAddressableStorage.BatchReadBlobs; google.bytestream.ByteStream.Read.
   * @throws {GomaError} NotFound when a blob is absent (the first in request order); DataLoss when bytes
   * do not match their digest.
   */
  async readBlobs(digests: Digest[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const unique = [...new Map(digests.map((d) => [digestKey(d), d])).values()];
    const cap = await this.#batchCap();
    let batch: Digest[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (!batch.length) return;
      const asked = batch;
      batch = [];
      batchBytes = 0;
      const res = await withRetry(BATCH_RETRY, () =>
        this.#caller.unary(casService.BatchReadBlobs, { instanceName: this.instanceName, digests: asked }));
      const byKey = new Map((res.responses ?? []).map((r) => [r.digest ? digestKey(toDigest(r.digest)) : "", r]));
      for (const d of asked) {
        const r = byKey.get(digestKey(d));
        if (!r) throw new GomaError(Code.Internal, `BatchReadBlobs returned no response for ${digestKey(d)}`);
        if (r.status?.code) throw new GomaError(r.status.code as Code, r.status.message || `Failed to read blob ${digestKey(d)}`);
        out.set(digestKey(d), verified(d, r.data ?? new Uint8Array(0)));
      }
    };
    for (const d of unique) {
      if (d.sizeBytes === 0) {
        out.set(digestKey(d), new Uint8Array(0));
      } else if (d.sizeBytes + BATCH_ENTRY_OVERHEAD_BYTES > cap) {
        out.set(digestKey(d), await this.readBlob(d));
      } else {
        if (batchBytes + d.sizeBytes + BATCH_ENTRY_OVERHEAD_BYTES > cap) await flush();
        batch.push(d);
        batchBytes += d.sizeBytes + BATCH_ENTRY_OVERHEAD_BYTES;
      }
    }
    await flush();
    return out;
  }

  /**
   * The cached result of an action, or undefined on a cache miss (NOT_FOUND).
   * Spec: REAPI ActionCache.GetActionResult.
   * @throws {GomaError} any status other than NOT_FOUND.
   */
  async getActionResult(
    actionDigest: Digest,
    opts: { inlineStdout?: boolean; inlineStderr?: boolean } = {},
  ): Promise<R.IActionResult | undefined> {
    try {
      return await withRetry(DEFAULT_RETRY, () => this.#caller.unary(actionCacheService.GetActionResult, {
        instanceName: this.instanceName, actionDigest,
        inlineStdout: opts.inlineStdout ?? false, inlineStderr: opts.inlineStderr ?? false,
      }));
    } catch (err) {
      if (GomaError.from(err).code === Code.NotFound) return undefined;
      throw err;
    }
  }

  /**
   * Stores an action result (the Action, Command and outputs must already be in the CAS).
   * Spec: REAPI ActionCache.UpdateActionResult.
   * @throws {GomaError} the server's status (e.g. PermissionDenied when updates are disabled).
   */
  async updateActionResult(actionDigest: Digest, result: R.IActionResult): Promise<void> {
    await withRetry(DEFAULT_RETRY, () => this.#caller.unary(actionCacheService.UpdateActionResult,
      { instanceName: this.instanceName, actionDigest, actionResult: result }));
  }

  /**
   * Executes an action and waits for its ExecuteResponse (see execute-client.ts for reconnection).
   * Spec: REAPI Execution.Execute / WaitExecution.
   * @throws {GomaError} the status of a failed Execute call (code and message verbatim), or of
   * `Operation.error`; Canceled on abort.
   */
  execute(actionDigest: Digest, opts: ExecuteOptions = {}): Promise<R.IExecuteResponse> {
    const hook = this.#opts.onExecuteRetry;
    const onRetry = hook || opts.onRetry
      ? (message: string, attempt: number) => { hook?.(actionDigest, message, attempt); opts.onRetry?.(message, attempt); }
      : undefined;
    return executeAndWait(this.#caller, this.instanceName, actionDigest, { ...opts, onRetry });
  }

  /** Closes the channel. */
  close(): void {
    this.#caller.close();
  }
}

/**
 * `data` when it matches `digest`.
 * @throws {GomaError} DataLoss otherwise.
 */
function verified(digest: Digest, data: Uint8Array): Uint8Array {
  const got = digestOf(data);
  if (got.hash !== digest.hash || got.sizeBytes !== digest.sizeBytes) {
    throw new GomaError(Code.DataLoss, `Blob ${digestKey(digest)} arrived with digest ${digestKey(got)}`);
  }
  return data;
}
