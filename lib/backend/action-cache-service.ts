/**
 * The ActionCache service of the embedded backend, over an {@link ActionCache} keyed by instance name
 * and action digest (the CAS is shared). A stored result whose outputs are no longer in the CAS is
 * reported as NOT_FOUND, so clients re-execute instead of failing to download. Updates are accepted
 * from any client (the server advertises `update_enabled`).
 *
 * Spec: REAPI ActionCache.GetActionResult / UpdateActionResult; reference/reapi-buildbarn.md §1.2, §2.3.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import { digestKey } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import { isComplete, withInlinedOutputs } from "./action-result-view.ts";
import { requireDigest, requireInstanceName, requireSha256, unary } from "./grpc-handler.ts";
import R = build.bazel.remote.execution.v2;

/**
 * The cached result for an action, if present and complete, with requested outputs inlined.
 * Shared by GetActionResult and Execute's cache lookup.
 */
export async function lookupActionResult(
  cas: Cas,
  ac: ActionCache,
  instanceName: string,
  actionDigest: R.IDigest,
  inline: { stdout?: boolean; stderr?: boolean; files?: readonly string[] },
): Promise<R.IActionResult | undefined> {
  const d = requireDigest(actionDigest, "action_digest");
  const result = await ac.get(instanceName, d);
  if (!result || !(await isComplete(cas, result))) return undefined;
  return withInlinedOutputs(cas, result, inline);
}

/** grpc-js handlers for `build.bazel.remote.execution.v2.ActionCache`. */
export function actionCacheHandlers(cas: Cas, ac: ActionCache): grpc.UntypedServiceImplementation {
  return {
    GetActionResult: unary(async (req: R.IGetActionResultRequest): Promise<R.IActionResult> => {
      const instanceName = requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const d = requireDigest(req.actionDigest, "action_digest");
      const result = await lookupActionResult(cas, ac, instanceName, d, {
        stdout: req.inlineStdout ?? false, stderr: req.inlineStderr ?? false, files: req.inlineOutputFiles ?? [],
      });
      if (!result) {
        throw new GomaError(Code.NotFound, `No action result for ${digestKey(d)} in instance "${instanceName}"`);
      }
      return result;
    }),

    UpdateActionResult: unary(async (req: R.IUpdateActionResultRequest): Promise<R.IActionResult> => {
      const instanceName = requireInstanceName(req.instanceName);
      requireSha256(req.digestFunction);
      const d = requireDigest(req.actionDigest, "action_digest");
      if (!req.actionResult) throw new GomaError(Code.InvalidArgument, "No action_result provided");
      await ac.put(instanceName, d, req.actionResult);
      return req.actionResult;
    }),
  };
}
