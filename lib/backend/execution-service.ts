/**
 * The Execution service of the embedded backend. Execute answers an AC hit directly (unless
 * `skip_cache_lookup`) with `cached_result: true`; otherwise it loads and checks the action (errors are
 * statuses on the call: FAILED_PRECONDITION for a missing Action/Command or an unmatched platform),
 * creates an operation, and streams its Operations QUEUED → EXECUTING → COMPLETED (`done`, with the
 * ExecuteResponse). The action keeps running when the client goes away; WaitExecution re-attaches by
 * name or returns the finished result; an unknown name is NOT_FOUND.
 *
 * Spec: REAPI Execution.Execute / WaitExecution; reference/reapi-buildbarn.md §1.7, §4.6.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import { build, google } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import { lookupActionResult } from "./action-cache-service.ts";
import { type InlineRequest, withInlinedOutputs } from "./action-result-view.ts";
import type { EmbeddedExecutor } from "./executor.ts";
import { requireDigest, requireInstanceName, requireSha256, rpcStatus, serverStream } from "./grpc-handler.ts";
import type { OperationStore } from "./operation-store.ts";
import R = build.bazel.remote.execution.v2;
import Stage = R.ExecutionStage.Value;

type OperationCall = grpc.ServerWritableStream<unknown, google.longrunning.IOperation>;

/** What the Execution service works with. `inFlight` collects running executions for shutdown. */
export interface ExecutionDeps {
  cas: Cas;
  ac: ActionCache;
  executor: EmbeddedExecutor;
  ops: OperationStore;
  inFlight: Set<Promise<void>>;
}

/** Writes the operation's updates to the call until it is done or the client cancels. */
function streamOperation(call: OperationCall, ops: OperationStore, name: string): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe: (() => void) | undefined;
    const finish = () => {
      unsubscribe?.();
      call.off("cancelled", finish);
      resolve();
    };
    call.once("cancelled", finish);
    unsubscribe = ops.subscribe(name, (op) => {
      if (!call.cancelled) call.write(op);
      if (op.done) finish();
    });
    if (!unsubscribe) {
      call.off("cancelled", finish);
      resolve();
    }
  });
}

/** grpc-js handlers for `build.bazel.remote.execution.v2.Execution`. */
export function executionHandlers(deps: ExecutionDeps): grpc.UntypedServiceImplementation {
  const { cas, ac, executor, ops } = deps;
  return {
    Execute: serverStream(async (req: R.IExecuteRequest, call: OperationCall) => {
      const instanceName = requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const actionDigest = requireDigest(req.actionDigest, "action_digest");
      const inline: InlineRequest = {
        stdout: req.inlineStdout ?? false, stderr: req.inlineStderr ?? false, files: req.inlineOutputFiles ?? [],
      };
      if (!req.skipCacheLookup) {
        const hit = await lookupActionResult(cas, ac, instanceName, actionDigest, inline);
        if (hit) {
          const name = ops.create(actionDigest);
          ops.update(name, Stage.COMPLETED, { result: hit, cachedResult: true, status: { code: Code.OK } });
          return streamOperation(call, ops, name);
        }
      }
      const prepared = await executor.prepare(instanceName, actionDigest);
      const name = ops.create(actionDigest);
      const run = executor.execute(prepared, (stage) => ops.update(name, stage))
        .then(async (res) => (res.result ? { ...res, result: await withInlinedOutputs(cas, res.result, inline) } : res))
        .catch((err): R.IExecuteResponse => ({ status: rpcStatus(err) }))
        .then((res) => ops.update(name, Stage.COMPLETED, res));
      deps.inFlight.add(run);
      void run.finally(() => deps.inFlight.delete(run));
      return streamOperation(call, ops, name);
    }),

    WaitExecution: serverStream(async (req: R.IWaitExecutionRequest, call: OperationCall) => {
      const name = req.name ?? "";
      if (!ops.latest(name)) throw new GomaError(Code.NotFound, `Operation "${name}" not found`);
      return streamOperation(call, ops, name);
    }),
  };
}
