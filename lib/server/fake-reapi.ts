/**
 * An in-memory REAPI backend implementing the server's {@link Reapi} interface (lib/server/reapi.ts),
 * for unit tests of ExecAdapter and of the proxy's task with no gRPC and no process: a CAS and an action
 * cache (lib/blobstore memory stores by default) and an Execute that checks the action like a real
 * backend does (Action, Command and every input-root blob present, else FAILED_PRECONDITION with MISSING
 * violations), looks up the action cache, and then either runs a function the test provides (it sees the
 * Command and the flattened input root, and returns an ActionResult) or returns a canned one. Every call
 * is recorded in {@link FakeReapi.calls}, so a test can say "a cache hit does not Execute"; any method
 * can be made to fail with {@link FakeReapi.failWith}.
 *
 * Spec: REAPI v2 ContentAddressableStorage.FindMissingBlobs/BatchUpdateBlobs/BatchReadBlobs,
 * ActionCache.GetActionResult, Execution.Execute (ExecuteResponse.status carries a failed precondition;
 * cached_result on a hit; successful results are cached unless Action.do_not_cache);
 * reference/reapi-buildbarn.md §1.2, §1.7.
 */
import { posix as path } from "node:path";
import type { ActionCache, Cas } from "../blobstore/cas.ts";
import { MemoryActionCache } from "../blobstore/memory-action-cache.ts";
import { MemoryCas } from "../blobstore/memory-cas.ts";
import { type Digest, digestKey, digestOf, toDigest } from "../digest/digest.ts";
import { R, rpc } from "../reapi/proto.ts";
import { Code, GomaError } from "../util/status.ts";
import type { Reapi } from "./reapi.ts";

/** The methods of {@link Reapi}, as recorded in {@link FakeReapi.calls}. */
export type FakeReapiMethod = "findMissingBlobs" | "uploadBlobs" | "readBlob" | "getActionResult" | "execute";

/** One recorded call: the method and its digests (the action's for getActionResult/execute). */
export interface FakeReapiCall {
  method: FakeReapiMethod;
  digests: Digest[];
  /** execute only: whether the caller asked to skip the cache lookup. */
  skipCacheLookup?: boolean;
}

/** What an Execute sees: the decoded Action and Command, and the input root as files. */
export interface FakeExecution {
  actionDigest: Digest;
  action: R.Action;
  command: R.Command;
  /** Every file of the input root by root-relative path, with its content and executable bit. */
  inputs: Map<string, { data: Uint8Array; isExecutable: boolean }>;
  /**
   * Stores `data` in the CAS and returns an OutputFile for `outputPath` (relative to the working
   * directory, as Command.output_paths names it).
   */
  output(outputPath: string, data: Uint8Array | string, isExecutable?: boolean): Promise<R.IOutputFile>;
  /** Stores `data` in the CAS and returns its digest (for stdout_digest / stderr_digest). */
  blob(data: Uint8Array | string): Promise<Digest>;
}

/**
 * How Execute produces the result: an ActionResult (a failed compile is a result with a non-zero
 * exit code), or a whole ExecuteResponse (e.g. with a `status`). Throwing makes the Execute call fail.
 */
export type FakeRunner = (x: FakeExecution) => FakeRunResult | Promise<FakeRunResult>;

/** What a {@link FakeRunner} returns. */
export type FakeRunResult = R.IActionResult | { response: R.IExecuteResponse };

/** Options of a {@link FakeReapi}. */
export interface FakeReapiOptions {
  /** The CAS; default a new MemoryCas. */
  cas?: Cas;
  /** The action cache; default a new MemoryActionCache. */
  ac?: ActionCache;
  /** The instance name the action cache is keyed by; default "". */
  instanceName?: string;
  /** Runs actions; default: every action succeeds with exit code 0 and no outputs. */
  run?: FakeRunner;
}

const utf8 = new TextEncoder();
const bytes = (d: Uint8Array | string) => (typeof d === "string" ? utf8.encode(d) : d);

/** The in-memory REAPI. Not safe for overlapping use by two tests: make one per test. */
export class FakeReapi implements Reapi {
  readonly cas: Cas;
  readonly ac: ActionCache;
  readonly instanceName: string;
  /** Execute's behaviour; may be replaced between calls. */
  run: FakeRunner;
  /** Every call, in order. */
  readonly calls: FakeReapiCall[] = [];
  readonly #faults = new Map<FakeReapiMethod, unknown[]>();

  constructor(opts: FakeReapiOptions = {}) {
    this.cas = opts.cas ?? new MemoryCas();
    this.ac = opts.ac ?? new MemoryActionCache();
    this.instanceName = opts.instanceName ?? "";
    this.run = opts.run ?? (() => ({ exitCode: 0 }));
  }

  /** Makes the next call of `method` throw `err` (queued: call again for later calls). */
  failWith(method: FakeReapiMethod, err: unknown): void {
    const q = this.#faults.get(method) ?? [];
    q.push(err);
    this.#faults.set(method, q);
  }

  /** The recorded calls of one method. */
  callsOf(method: FakeReapiMethod): FakeReapiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  #enter(call: FakeReapiCall): void {
    this.calls.push(call);
    const q = this.#faults.get(call.method);
    if (q?.length) throw q.shift();
  }

  async findMissingBlobs(digests: Digest[]): Promise<Digest[]> {
    this.#enter({ method: "findMissingBlobs", digests });
    return this.cas.findMissing(digests);
  }

  /** @throws {GomaError} InvalidArgument when a blob's data does not match its digest. */
  async uploadBlobs(blobs: { digest: Digest; data: Uint8Array }[]): Promise<void> {
    this.#enter({ method: "uploadBlobs", digests: blobs.map((b) => b.digest) });
    for (const b of blobs) await this.cas.put(b.digest, b.data);
  }

  /** @throws {GomaError} NotFound when the CAS lacks the blob. */
  async readBlob(digest: Digest): Promise<Uint8Array> {
    this.#enter({ method: "readBlob", digests: [digest] });
    const data = await this.cas.get(digest);
    if (!data) throw new GomaError(Code.NotFound, `Blob ${digestKey(digest)} not found`);
    return data;
  }

  /** The cached result when every blob it names is in the CAS (else a miss, as the embedded backend). */
  async getActionResult(actionDigest: Digest, opts: { inlineStdout?: boolean; inlineStderr?: boolean } = {}): Promise<R.IActionResult | undefined> {
    this.#enter({ method: "getActionResult", digests: [actionDigest] });
    return this.#lookup(actionDigest, opts);
  }

  async #lookup(actionDigest: Digest, opts: { inlineStdout?: boolean; inlineStderr?: boolean }): Promise<R.IActionResult | undefined> {
    const hit = await this.ac.get(this.instanceName, actionDigest);
    if (!hit) return undefined;
    const named = [...(hit.outputFiles ?? []).map((f) => f.digest), hit.stdoutDigest, hit.stderrDigest]
      .filter((d): d is R.IDigest => !!d).map(toDigest);
    if ((await this.cas.findMissing(named)).length) return undefined;
    const out: R.IActionResult = { ...hit };
    if (opts.inlineStdout && hit.stdoutDigest) out.stdoutRaw = await this.cas.get(toDigest(hit.stdoutDigest));
    if (opts.inlineStderr && hit.stderrDigest) out.stderrRaw = await this.cas.get(toDigest(hit.stderrDigest));
    return out;
  }

  /**
   * Executes the action: FAILED_PRECONDITION (in the response's status) naming every missing blob, the
   * cached result unless `skipCacheLookup`, else {@link FakeReapi.run}'s result, cached when it
   * succeeded and the Action allows it.
   * @throws {GomaError} FailedPrecondition when the Action or Command blob is missing (a call error, as
   * a real backend answers before it has an operation); whatever `run` throws.
   */
  async execute(actionDigest: Digest, opts: { skipCacheLookup?: boolean } = {}): Promise<R.IExecuteResponse> {
    this.#enter({ method: "execute", digests: [actionDigest], skipCacheLookup: opts.skipCacheLookup ?? false });
    const actionBytes = await this.cas.get(actionDigest);
    if (!actionBytes) throw new GomaError(Code.FailedPrecondition, `Action ${digestKey(actionDigest)} not found in the CAS`);
    const action = R.Action.decode(actionBytes);
    const commandDigest = toDigest(action.commandDigest);
    const commandBytes = await this.cas.get(commandDigest);
    if (!commandBytes) throw new GomaError(Code.FailedPrecondition, `Command ${digestKey(commandDigest)} not found in the CAS`);
    const command = R.Command.decode(commandBytes);
    const { inputs, missing } = await this.#inputRoot(toDigest(action.inputRootDigest));
    if (missing.length) return { status: missingStatus(missing) };
    if (!opts.skipCacheLookup) {
      const hit = await this.#lookup(actionDigest, {});
      if (hit) return { result: hit, cachedResult: true, status: { code: Code.OK } };
    }
    const x: FakeExecution = {
      actionDigest, action, command, inputs,
      output: async (p, data, isExecutable = false) => ({ path: p, digest: await x.blob(data), isExecutable }),
      blob: async (data) => {
        const b = bytes(data);
        const d = digestOf(b);
        await this.cas.put(d, b);
        return d;
      },
    };
    const got = await this.run(x);
    if ("response" in got) return got.response;
    if ((got.exitCode ?? 0) === 0 && !action.doNotCache) await this.ac.put(this.instanceName, actionDigest, got);
    return { result: got, status: { code: Code.OK } };
  }

  /** Flattens the input root; blobs absent from the CAS are reported, not thrown. */
  async #inputRoot(root: Digest): Promise<{ inputs: FakeExecution["inputs"]; missing: Digest[] }> {
    const inputs: FakeExecution["inputs"] = new Map();
    const missing: Digest[] = [];
    const walk = async (d: Digest, dir: string): Promise<void> => {
      const data = await this.cas.get(d);
      if (!data) {
        missing.push(d);
        return;
      }
      const node = R.Directory.decode(data);
      for (const f of node.files) {
        const fd = toDigest(f.digest);
        const content = await this.cas.get(fd);
        if (!content) missing.push(fd);
        else inputs.set(path.join(dir, f.name ?? ""), { data: content, isExecutable: !!f.isExecutable });
      }
      for (const sub of node.directories) await walk(toDigest(sub.digest), path.join(dir, sub.name ?? ""));
    };
    await walk(root, "");
    return { inputs, missing };
  }
}

/**
 * The status of an Execute whose blobs are missing: FAILED_PRECONDITION with one MISSING violation
 * (`blobs/{hash}/{size}`) per blob, as the embedded backend and Buildbarn answer.
 * Spec: REAPI Execute "missing input → FAILED_PRECONDITION with PreconditionFailure, type MISSING".
 */
export function missingStatus(missing: Digest[]): R.IExecuteResponse["status"] {
  const value = rpc.PreconditionFailure.encode({
    violations: missing.map((d) => ({ type: "MISSING", subject: `blobs/${d.hash}/${d.sizeBytes}` })),
  }).finish();
  return {
    code: Code.FailedPrecondition,
    message: `${missing.length} input blob(s) missing from the CAS`,
    details: [{ type_url: "type.googleapis.com/google.rpc.PreconditionFailure", value }],
  };
}
