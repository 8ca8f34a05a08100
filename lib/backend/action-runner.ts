/**
 * Runs one prepared action end to end in its own directory `exec/<uuid>/root`: load and check the input
 * tree, materialize it, create output parents, run the command, collect outputs, stdout and stderr into
 * the CAS, and write the AC when the action succeeded (exit 0, no timeout, not `do_not_cache`). The
 * action directory is removed afterwards, always. Failures of the action are data in the returned
 * ExecuteResponse (`status`), never exceptions; this function only throws on programming errors.
 *
 * Spec: REAPI Execution.Execute semantics, ExecuteResponse.status, ExecutedActionMetadata;
 * reference/reapi-buildbarn.md §1.2, §1.7.
 */
import { randomUUID } from "node:crypto";
import { chmod, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import type { Digest } from "../digest/digest.ts";
import { build, google } from "../reapi/proto.ts";
import { Code } from "../util/status.ts";
import { rpcStatus } from "./grpc-handler.ts";
import { type InputTree, loadInputTree, materializeInputRoot, missingBlobsError } from "./input-root.ts";
import { collectOutputs, declaredOutputs, prepareOutputParents } from "./output-collector.ts";
import { runCommand, workingDirectory } from "./run-command.ts";
import { chownDirectories } from "./sandbox.ts";
import R = build.bazel.remote.execution.v2;

/** Action timeout when `Action.timeout` is unset: 15 minutes. */
export const DEFAULT_TIMEOUT_MS = 15 * 60 * 1000;

/** An action whose Action and Command were loaded and whose platform matched. */
export interface PreparedAction {
  instanceName: string;
  actionDigest: Digest;
  /** `Action.input_root_digest`, validated. */
  inputRootDigest: Digest;
  action: R.IAction;
  command: R.ICommand;
}

/** What a run needs from its executor. */
export interface RunnerDeps {
  cas: Cas;
  ac: ActionCache;
  /** Parent of the per-action directories. */
  execDir: string;
  /** Records a started process group so that shutdown can kill it; returns the unregister function. */
  trackProcess: (pid: number) => () => void;
  /**
   * Refuses commands the executor must not run (lib/backend/command-policy.ts; throws a GomaError), and
   * answers variables to add to the process environment (e.g. GOMA_ENV_VERIFIED).
   */
  checkCommand?: (command: R.ICommand, tree: InputTree, inputRootDigest: Digest) => Promise<Record<string, string>>;
  /** Runs the process under bubblewrap (lib/backend/sandbox.ts) when set. */
  sandbox?: { bwrap: string; hide: string[]; user?: { uid: number; gid: number } };
}

/** `google.protobuf.Timestamp` of a wall-clock time in milliseconds. */
export function timestamp(ms: number): google.protobuf.ITimestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function timeoutMs(action: R.IAction): number {
  const t = action.timeout;
  const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
  return ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

/** Removes a directory tree even when the action left read-only directories in it. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    const makeWritable = async (d: string): Promise<void> => {
      await chmod(d, 0o755).catch(() => {});
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) await makeWritable(join(d, e.name));
      }
    };
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the action and answers its ExecuteResponse.
 * @param queuedMs when the action was queued (wall clock, ms), for `execution_metadata`.
 */
export async function runAction(deps: RunnerDeps, p: PreparedAction, queuedMs: number): Promise<R.IExecuteResponse> {
  const { cas, ac } = deps;
  const actionDir = join(deps.execDir, randomUUID());
  const root = join(actionDir, "root");
  const md: R.IExecutedActionMetadata = { worker: "embedded", queuedTimestamp: timestamp(queuedMs) };
  md.workerStartTimestamp = md.inputFetchStartTimestamp = timestamp(Date.now());
  try {
    const rootDigest = p.inputRootDigest;
    const tree = await loadInputTree(cas, rootDigest);
    let extraEnv: Record<string, string> = {};
    try {
      if (tree.missing.length > 0) return { status: rpcStatus(missingBlobsError(tree.missing)) };
      extraEnv = (await deps.checkCommand?.(p.command, tree, rootDigest)) ?? {};
      await materializeInputRoot(cas, tree, rootDigest, root);
    } finally {
      tree.release(); // the action has its own copies now: the blobs may be evicted
    }
    md.inputFetchCompletedTimestamp = timestamp(Date.now());

    const cwd = workingDirectory(root, p.command.workingDirectory);
    await prepareOutputParents(root, cwd, declaredOutputs(p.command));
    const env: Record<string, string> = {};
    for (const v of p.command.environmentVariables ?? []) env[v.name ?? ""] = v.value ?? "";
    Object.assign(env, extraEnv);
    const sb = deps.sandbox;
    if (sb?.user) await chownDirectories(root, sb.user);
    const stdoutPath = join(actionDir, "stdout"), stderrPath = join(actionDir, "stderr");
    let untrack = () => {};
    md.executionStartTimestamp = timestamp(Date.now());
    const run = await runCommand({
      argv: p.command.arguments ?? [], cwd, env, timeoutMs: timeoutMs(p.action), stdoutPath, stderrPath,
      onStart: (pid) => { untrack = deps.trackProcess(pid); },
      sandbox: sb && { ...sb, actionRoot: root },
    }).finally(() => untrack());
    md.executionCompletedTimestamp = md.outputUploadStartTimestamp = timestamp(Date.now());

    const outputs = await collectOutputs(cas, p.command, cwd, root);
    const result: R.IActionResult = {
      ...outputs,
      exitCode: run.exitCode,
      stdoutDigest: await cas.putFile(stdoutPath),
      stderrDigest: await cas.putFile(stderrPath),
      executionMetadata: md,
    };
    md.outputUploadCompletedTimestamp = md.workerCompletedTimestamp = timestamp(Date.now());
    if (run.timedOut) {
      return {
        result,
        status: { code: Code.DeadlineExceeded, message: `Action timed out after ${timeoutMs(p.action)} ms` },
      };
    }
    if (run.exitCode === 0 && !p.action.doNotCache) await ac.put(p.instanceName, p.actionDigest, result);
    return { result, status: { code: Code.OK } };
  } catch (err) {
    return { status: rpcStatus(err) };
  } finally {
    await removeTree(actionDir).catch(() => {});
  }
}
