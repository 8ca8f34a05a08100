/**
 * Execute-and-wait over the REAPI Operation stream. Reads `google.longrunning.Operation`s until one is
 * `done`; when the stream breaks after the operation has a name, re-attaches with WaitExecution(name);
 * when WaitExecution says NOT_FOUND (the server forgot the operation), executes again. Errors creating the
 * operation (FAILED_PRECONDITION "No workers exist …", INVALID_ARGUMENT, …) are thrown verbatim.
 * An operation that completes with `ExecuteResponse.status` UNAVAILABLE — the backend lost it, e.g.
 * Buildbarn's "Worker … disappeared while task was executing" once a worker stopped synchronizing for a
 * minute — is executed again as a new operation (at most {@link MAX_LOST_RETRIES} times, with backoff):
 * REAPI calls that status transient, and Buildbarn does not requeue such a task itself.
 *
 * Spec: REAPI Execution.Execute / Execution.WaitExecution; reference/reapi-buildbarn.md §1.7, §4.5.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Digest } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { executionService, TYPE_URL } from "./grpc-service.ts";
import { build, google } from "./proto.ts";
import { backoffDelayMs, backoffSleep, DEFAULT_RETRY } from "./retry.ts";
import { type RpcCaller, toGomaError } from "./rpc-caller.ts";
import R = build.bazel.remote.execution.v2;

/** Options of one execution. `onStage` receives `ExecutionStage.Value` numbers (QUEUED=2, EXECUTING=3, …). */
export interface ExecuteOptions {
  skipCacheLookup?: boolean;
  onStage?: (stage: number) => void;
  /** Called before an operation the backend lost (status UNAVAILABLE) is executed again: its status message. */
  onRetry?: (message: string, attempt: number) => void;
  signal?: AbortSignal;
}

/** Reconnections (WaitExecution or re-Execute) allowed in a row without receiving any Operation. */
const MAX_IDLE_RECONNECTS = DEFAULT_RETRY.attempts;
/** Reconnections allowed in total for one execution. */
const MAX_TOTAL_RECONNECTS = 100;
/** New executions after the backend completed the operation with status UNAVAILABLE (it lost it). */
export const MAX_LOST_RETRIES = 3;

type StreamOutcome =
  | { kind: "done"; response: R.IExecuteResponse }
  | { kind: "broken"; error?: GomaError; progressed: boolean };

/** Reads one Execute/WaitExecution stream to its end. */
async function readOperations(
  stream: grpc.ClientReadableStream<google.longrunning.IOperation>,
  opts: ExecuteOptions,
  onName: (name: string) => void,
): Promise<StreamOutcome> {
  const onAbort = () => stream.cancel();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let progressed = false;
  try {
    for await (const op of stream as AsyncIterable<google.longrunning.IOperation>) {
      progressed = true;
      if (op.name) onName(op.name);
      if (op.metadata?.type_url === TYPE_URL.executeOperationMetadata && op.metadata.value) {
        const md = R.ExecuteOperationMetadata.decode(op.metadata.value);
        opts.onStage?.(md.stage);
      }
      if (!op.done) continue;
      stream.cancel();
      if (op.error && op.error.code) throw new GomaError(op.error.code as Code, op.error.message ?? "");
      if (op.response?.type_url !== TYPE_URL.executeResponse || !op.response.value) {
        throw new GomaError(Code.Internal, `Operation "${op.name}" is done without an ExecuteResponse`);
      }
      return { kind: "done", response: R.ExecuteResponse.decode(op.response.value) };
    }
    return { kind: "broken", progressed };
  } catch (err) {
    if (opts.signal?.aborted) throw new GomaError(Code.Canceled, "Execute was cancelled", { cause: err });
    if (err instanceof GomaError) throw err;
    return { kind: "broken", error: toGomaError(err), progressed };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Codes after which a named operation is worth re-attaching to (the transport broke, not the request). */
function isStreamBreak(e: GomaError): boolean {
  return [Code.Unavailable, Code.Internal, Code.Unknown, Code.Canceled, Code.DeadlineExceeded, Code.Aborted]
    .includes(e.code);
}

/**
 * Executes an action (already in the CAS with its Command and inputs) and waits for the result.
 * @returns the final `ExecuteResponse`; a failed action is data (exit code, `status`), not a throw.
 * @throws {GomaError} the server's status when the operation cannot be created; the `Operation.error`
 * status; Canceled when `opts.signal` aborts; Unavailable when reconnecting keeps failing.
 */
export async function executeAndWait(
  caller: RpcCaller,
  instanceName: string,
  actionDigest: Digest,
  opts: ExecuteOptions = {},
): Promise<R.IExecuteResponse> {
  let name: string | undefined;
  let idle = 0;
  let lost = 0;
  for (let total = 0; ; total++) {
    if (opts.signal?.aborted) throw new GomaError(Code.Canceled, "Execute was cancelled");
    const waiting = name !== undefined;
    const stream = waiting
      ? caller.serverStream(executionService.WaitExecution, { name })
      : caller.serverStream(executionService.Execute,
        { instanceName, actionDigest, skipCacheLookup: opts.skipCacheLookup ?? false });
    const out = await readOperations(stream, opts, (n) => { name = n; });
    if (out.kind === "done") {
      const st = out.response.status;
      if (st?.code !== Code.Unavailable || lost >= MAX_LOST_RETRIES) return out.response;
      lost++;
      opts.onRetry?.(st.message ?? "", lost);
      name = undefined; // a new operation for the same action
      idle = 0;
      await backoffSleep(backoffDelayMs(DEFAULT_RETRY, lost), opts.signal);
      continue;
    }
    const err = out.error;
    if (err && waiting && err.code === Code.NotFound) {
      name = undefined; // the server lost the operation: run it again
    } else if (err && name === undefined && err.code !== Code.Unavailable) {
      throw err; // creating the operation failed: keep the server's code and message
    } else if (err && !isStreamBreak(err)) {
      throw err;
    }
    idle = out.progressed ? 0 : idle + 1;
    if (idle >= MAX_IDLE_RECONNECTS || total >= MAX_TOTAL_RECONNECTS) {
      throw err ?? new GomaError(Code.Unavailable, `Execute stream for operation "${name}" ended without a result`);
    }
    if (idle > 0) await backoffSleep(backoffDelayMs(DEFAULT_RETRY, idle), opts.signal);
  }
}
