/**
 * The embedded backend's executor: loads an action (Action and Command from the CAS), checks its
 * platform against what this "worker" offers, and runs it with at most `concurrency` actions at once
 * (a FIFO semaphore; waiting actions report QUEUED, running ones EXECUTING). Running processes are
 * tracked so that shutdown can kill their process groups.
 *
 * Spec: REAPI Execution.Execute (FAILED_PRECONDITION for a missing Action/Command or no matching
 * worker), ExecutionStage; reference/reapi-buildbarn.md §1.7, §3, §4.5.
 */
import { mkdir } from "node:fs/promises";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import { type Digest, digestKey } from "../digest/digest.ts";
import { TYPE_URL } from "../reapi/grpc-service.ts";
import { build, google } from "../reapi/proto.ts";
import { blobSubject } from "../reapi/resource-name.ts";
import { Code, GomaError } from "../util/status.ts";
import { type PreparedAction, removeTree, runAction } from "./action-runner.ts";
import { DetailedError, requireDigest } from "./grpc-handler.ts";
import { checkPlatform, requestedPlatform } from "./platform-match.ts";
import { checkCommand, type CommandPolicy } from "./command-policy.ts";
import { EnvVerifier, manifestKey } from "./env-verifier.ts";
import { hiddenBySandbox, hiddenCompilerFix, SANDBOX_PRIVATE_DIRS, type Sandbox } from "./sandbox.ts";
import { killProcessGroup } from "./run-command.ts";
import R = build.bazel.remote.execution.v2;
import Stage = R.ExecutionStage.Value;

/** A FIFO counting semaphore. */
class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  /** Resolves once a permit is held (FIFO among waiters). */
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

/**
 * Refuses (FailedPrecondition, so the client compiles locally with this reason) a compiler that the
 * sandbox hides — a toolchain under /tmp, which is private to each action — instead of letting the
 * wrapper say "no such compiler on the worker" without the why.
 */
function refuseHiddenCompiler(program: string, real: string | undefined, hide: readonly string[]): void {
  for (const p of new Set([program, real ?? program])) {
    const dir = hiddenBySandbox(p, hide);
    if (dir === undefined) continue;
    const how = SANDBOX_PRIVATE_DIRS.includes(dir) ? `has a private ${dir}` : `hides ${dir}`;
    throw new GomaError(Code.FailedPrecondition,
      `the compiler ${program}${p !== program ? ` (${p})` : ""} cannot run in the embedded backend's sandbox: bubblewrap ${how}; ${hiddenCompilerFix(dir)}`);
  }
}

/** Dependencies and limits of the executor. */
export interface ExecutorOptions {
  cas: Cas;
  ac: ActionCache;
  /** Directory holding one subdirectory per running action. */
  execDir: string;
  /** Actions running at once (≥ 1). */
  concurrency: number;
  /** Platform properties this worker offers, e.g. `{ OSFamily: "linux" }`. */
  platform: Record<string, string>;
  /** Which commands run (lib/backend/command-policy.ts); default `"toolchain"`. */
  commandPolicy?: CommandPolicy;
  /** The backend's data directory (no program may live under it; hidden from sandboxed actions). */
  dataDir: string;
  /** The sandbox actions run in (lib/backend/sandbox.ts); none when undefined. */
  sandbox?: Sandbox;
  /** The server's own directories, off limits like `dataDir` (lib/backend/command-policy.ts). */
  serverDirs?: readonly string[];
  /** Directories the workers provide (lib/server/exec-root.ts); default its DEFAULT_ENV_PREFIXES. */
  envPrefixes?: readonly string[];
}

/** Loads and runs actions for the Execution service. */
export class EmbeddedExecutor {
  readonly #opts: ExecutorOptions;
  readonly #slots: Semaphore;
  readonly #pids = new Set<number>();
  readonly #verifier = new EnvVerifier();
  #closed = false;

  constructor(opts: ExecutorOptions) {
    this.#opts = opts;
    this.#slots = new Semaphore(Math.max(1, Math.floor(opts.concurrency)));
  }

  /** Removes action directories left by a previous process and (re)creates the exec directory. */
  async cleanExecDir(): Promise<void> {
    await removeTree(this.#opts.execDir);
    await mkdir(this.#opts.execDir, { recursive: true });
  }

  async #loadMessage<T>(d: Digest, what: string, decode: (b: Uint8Array) => T): Promise<T> {
    const bytes = await this.#opts.cas.get(d);
    if (!bytes) {
      const failure = google.rpc.PreconditionFailure.encode({ violations: [{ type: "MISSING", subject: blobSubject(d) }] }).finish();
      throw new DetailedError(Code.FailedPrecondition, `${what} ${digestKey(d)} is not in the CAS`,
        [{ type_url: TYPE_URL.preconditionFailure, value: failure }]);
    }
    try {
      return decode(bytes);
    } catch (err) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(d)} is not a valid ${what}: ${(err as Error).message}`);
    }
  }

  /**
   * Loads the Action and its Command and checks the platform.
   * @throws {GomaError} FailedPrecondition when the Action or Command is missing (with a MISSING
   * violation) or no worker matches the platform; InvalidArgument for undecodable messages.
   */
  async prepare(instanceName: string, actionDigest: Digest): Promise<PreparedAction> {
    const action = await this.#loadMessage(actionDigest, "Action", (b) => R.Action.decode(b));
    const commandDigest = requireDigest(action.commandDigest, "command_digest");
    const inputRootDigest = requireDigest(action.inputRootDigest, "input_root_digest");
    const command = await this.#loadMessage(commandDigest, "Command", (b) => R.Command.decode(b));
    checkPlatform(instanceName, requestedPlatform(action, command), this.#opts.platform);
    return { instanceName, actionDigest, inputRootDigest, action, command };
  }

  /**
   * Waits for a slot (the caller reports QUEUED meanwhile), then runs the action; `onStage` receives
   * EXECUTING once it starts. Never throws: failures are in the response's `status`.
   */
  async execute(p: PreparedAction, onStage: (stage: Stage) => void): Promise<R.IExecuteResponse> {
    const queuedMs = Date.now();
    await this.#slots.acquire();
    try {
      if (this.#closed) return { status: { code: Code.Unavailable, message: "The embedded backend is shutting down" } };
      onStage(Stage.EXECUTING);
      return await runAction({
        cas: this.#opts.cas, ac: this.#opts.ac, execDir: this.#opts.execDir,
        checkCommand: (this.#opts.commandPolicy ?? "toolchain") === "any" ? undefined
          : async (command, tree, inputRootDigest): Promise<Record<string, string>> => {
            const { manifest, program, real } = await checkCommand(command, {
              cas: this.#opts.cas, tree, inputRootDigest, dataDir: this.#opts.dataDir,
              serverDirs: this.#opts.serverDirs, envPrefixes: this.#opts.envPrefixes,
            });
            if (this.#opts.sandbox?.kind === "bwrap") refuseHiddenCompiler(program, real, this.#opts.sandbox.hide ?? []);
            return manifest && await this.#verifier.verify(manifest) ? { GOMA_ENV_VERIFIED: manifestKey(manifest) } : {};
          },
        sandbox: this.#opts.sandbox?.kind === "bwrap"
          ? { bwrap: this.#opts.sandbox.bwrap!, hide: this.#opts.sandbox.hide!, user: this.#opts.sandbox.user }
          : undefined,
        trackProcess: (pid) => {
          if (this.#closed) killProcessGroup(pid); // started after shutdown() ran
          this.#pids.add(pid);
          return () => this.#pids.delete(pid);
        },
      }, p, queuedMs);
    } finally {
      this.#slots.release();
    }
  }

  /**
   * Stops the executor: queued actions will not start (they answer UNAVAILABLE) and the process groups
   * of running actions are killed (their runs then complete and clean up).
   */
  shutdown(): void {
    this.#closed = true;
    for (const pid of this.#pids) killProcessGroup(pid);
  }
}
