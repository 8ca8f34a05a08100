/**
 * The embedded backend's in-memory table of long-running operations, so that WaitExecution can attach to
 * a running execution or fetch a finished one. Each operation is named `operations/<uuid>` and holds its
 * latest `google.longrunning.Operation`; subscribers get every update. Finished operations are kept for
 * a retention period (5 minutes by default) and pruned lazily when new operations are created (no
 * timers).
 *
 * Spec: REAPI Execution.Execute/WaitExecution, Operation{name, metadata, done, response} with
 * ExecuteOperationMetadata and ExecuteResponse packed in Any; reference/reapi-buildbarn.md §1.7.
 */
import { randomUUID } from "node:crypto";
import type { Digest } from "../digest/digest.ts";
import { TYPE_URL } from "../reapi/grpc-service.ts";
import { build, google } from "../reapi/proto.ts";
import R = build.bazel.remote.execution.v2;
import Stage = R.ExecutionStage.Value;

/** How long finished operations stay available to WaitExecution: 5 minutes. */
export const DEFAULT_RETENTION_MS = 5 * 60 * 1000;

type Listener = (op: google.longrunning.IOperation) => void;

interface OperationRecord {
  actionDigest: Digest;
  latest: google.longrunning.IOperation;
  finishedAtMs?: number;
  listeners: Set<Listener>;
}

/**
 * Builds the Operation message for a stage; `response` makes it the final (`done`) one.
 * Spec: metadata is always an ExecuteOperationMetadata; `done` only at COMPLETED; never `error`.
 */
export function operationMessage(
  name: string,
  actionDigest: Digest,
  stage: Stage,
  response?: R.IExecuteResponse,
): google.longrunning.IOperation {
  const metadata = { type_url: TYPE_URL.executeOperationMetadata,
    value: R.ExecuteOperationMetadata.encode({ stage, actionDigest }).finish() };
  if (!response) return { name, metadata, done: false };
  return { name, metadata, done: true,
    response: { type_url: TYPE_URL.executeResponse, value: R.ExecuteResponse.encode(response).finish() } };
}

/** The operation table. Not shared between processes. */
export class OperationStore {
  readonly #ops = new Map<string, OperationRecord>();
  readonly #retentionMs: number;

  constructor(retentionMs = DEFAULT_RETENTION_MS) {
    this.#retentionMs = retentionMs;
  }

  /** Creates an operation at stage QUEUED and returns its name. */
  create(actionDigest: Digest): string {
    this.#prune();
    const name = `operations/${randomUUID()}`;
    this.#ops.set(name, { actionDigest, latest: operationMessage(name, actionDigest, Stage.QUEUED), listeners: new Set() });
    return name;
  }

  /** Moves an operation to `stage`; with `response` it completes (stage COMPLETED, `done`). */
  update(name: string, stage: Stage, response?: R.IExecuteResponse): void {
    const rec = this.#ops.get(name);
    if (!rec || rec.finishedAtMs !== undefined) return;
    rec.latest = operationMessage(name, rec.actionDigest, response ? Stage.COMPLETED : stage, response);
    if (response) rec.finishedAtMs = Date.now();
    for (const l of [...rec.listeners]) l(rec.latest);
    if (response) rec.listeners.clear();
  }

  /** The latest Operation message, or undefined for an unknown (or expired) name. */
  latest(name: string): google.longrunning.IOperation | undefined {
    return this.#ops.get(name)?.latest;
  }

  /**
   * Calls `listener` with the latest message now and with every later update until the operation is
   * done. Returns the unsubscribe function, or undefined for an unknown name.
   */
  subscribe(name: string, listener: Listener): (() => void) | undefined {
    const rec = this.#ops.get(name);
    if (!rec) return undefined;
    listener(rec.latest);
    if (rec.latest.done) return () => {};
    rec.listeners.add(listener);
    return () => rec.listeners.delete(listener);
  }

  #prune(): void {
    const cutoff = Date.now() - this.#retentionMs;
    for (const [name, rec] of this.#ops) {
      if (rec.finishedAtMs !== undefined && rec.finishedAtMs < cutoff) this.#ops.delete(name);
    }
  }
}
