/**
 * A client of Buildbarn's BuildQueueState gRPC service (bb_scheduler's `buildQueueStateGrpcServers`,
 * port 8984 in bb-deployments and scripts/buildbarn/): the platform queues the scheduler has, with their
 * worker counts, and the workers of each with the operation it runs. What the scheduler's web UI shows,
 * read by `goma doctor` and by tests. Only the two listing RPCs are used; nothing is changed.
 *
 * Spec: bb-remote-execution pkg/proto/buildqueuestate/buildqueuestate.proto (the subset in
 * protos/buildbarn/buildqueuestate.proto); reference/reapi-buildbarn.md §2.3, §3.
 */
import { randomUUID } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import { build, buildbarn } from "./proto.ts";
import { RpcCaller } from "./rpc-caller.ts";
import type { TlsMaterial } from "./tls-credentials.ts";
import bqs = buildbarn.buildqueuestate;
import R = build.bazel.remote.execution.v2;

/** A codec pair as grpc-js wants it. */
function method<Req, Res>(name: string, req: { encode(m: Req): { finish(): Uint8Array } }, res: { decode(b: Uint8Array): Res }): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/buildbarn.buildqueuestate.BuildQueueState/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => Buffer.from(req.encode(v).finish()),
    requestDeserialize: () => { throw new Error("client only"); },
    responseSerialize: () => { throw new Error("client only"); },
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: name,
  };
}

/** An empty message (google.protobuf.Empty) encodes to no bytes. */
const Empty = { encode: () => ({ finish: () => new Uint8Array() }) };

const ListPlatformQueues = method<Record<string, never>, bqs.IListPlatformQueuesResponse>("ListPlatformQueues", Empty, bqs.ListPlatformQueuesResponse);
const ListWorkers = method<bqs.IListWorkersRequest, bqs.IListWorkersResponse>("ListWorkers", bqs.ListWorkersRequest, bqs.ListWorkersResponse);

/** One worker of a size class queue, as the scheduler knows it. */
export interface SchedulerWorker {
  /** The worker's id labels, e.g. `{ host: "localhost", worker: "goma-test-1", thread: "0" }`. */
  id: Record<string, string>;
  /** Name of the operation it executes now, if any. */
  operation?: string;
  /** Digest (`hash/size`) of the action it executes now, if any. */
  actionDigest?: string;
  drained: boolean;
}

/** One size class queue of a platform queue. */
export interface SchedulerQueue {
  instanceNamePrefix: string;
  /** The platform's properties as `K=V`, in the scheduler's (sorted) order. */
  platform: string[];
  sizeClass: number;
  /** Workers registered now (each runner thread of a bb_worker counts as one). */
  workers: number;
  executing: number;
  idle: number;
  queued: number;
  drains: number;
  /** Set when the queue has no workers left: when the scheduler will remove it (ms since the epoch). */
  removalAt?: number;
}

/** Options of a {@link BuildQueueStateClient}. */
export interface BuildQueueStateOptions {
  /** `host:port` of bb_scheduler's BuildQueueState listener. */
  target: string;
  insecure?: boolean;
  tls?: TlsMaterial | (() => TlsMaterial);
  bearerToken?: () => string | undefined;
  /** Deadline of each call, ms (default 10 s). */
  timeoutMs?: number;
}

const num = (v: unknown): number => Number(v ?? 0);

/** Reads bb_scheduler's BuildQueueState service. Call {@link close} when done. */
export class BuildQueueStateClient {
  readonly #caller: RpcCaller;

  constructor(opts: BuildQueueStateOptions) {
    this.#caller = new RpcCaller({
      target: opts.target, insecure: opts.insecure, tls: opts.tls, bearerToken: opts.bearerToken,
      unaryTimeoutMs: opts.timeoutMs ?? 10_000,
      requestMetadata: R.RequestMetadata.encode({ toolDetails: { toolName: "goma doctor" }, toolInvocationId: randomUUID() }).finish(),
    });
  }

  /**
   * Every size class queue of every platform queue, with its counts.
   * @throws {GomaError} with the gRPC code (UNIMPLEMENTED when the target is not a BuildQueueState service).
   */
  async queues(): Promise<SchedulerQueue[]> {
    const res = await this.#caller.unary(ListPlatformQueues, {});
    const out: SchedulerQueue[] = [];
    for (const pq of res.platformQueues ?? []) {
      const platform = (pq.name?.platform?.properties ?? []).map((p) => `${p.name}=${p.value}`);
      for (const sc of pq.sizeClassQueues ?? []) {
        const inv = sc.rootInvocation;
        const removal = sc.timeout ? num(sc.timeout.seconds) * 1000 + Math.floor(num(sc.timeout.nanos) / 1e6) : undefined;
        out.push({
          instanceNamePrefix: pq.name?.instanceNamePrefix ?? "",
          platform,
          sizeClass: num(sc.sizeClass),
          workers: num(sc.workersCount),
          executing: num(inv?.executingWorkersCount),
          idle: num(inv?.idleWorkersCount),
          queued: num(inv?.queuedOperationsCount?.direct) + num(inv?.queuedOperationsCount?.indirect),
          drains: num(sc.drainsCount),
          removalAt: removal,
        });
      }
    }
    return out;
  }

  /**
   * The workers of one size class queue (all pages), with what each executes now.
   * @throws {GomaError} with the gRPC code.
   */
  async workers(q: Pick<SchedulerQueue, "instanceNamePrefix" | "platform" | "sizeClass">): Promise<SchedulerWorker[]> {
    const properties = q.platform.map((kv) => ({ name: kv.slice(0, kv.indexOf("=")), value: kv.slice(kv.indexOf("=") + 1) }));
    const all = { platformQueueName: { instanceNamePrefix: q.instanceNamePrefix, platform: { properties } }, sizeClass: q.sizeClass };
    const out: SchedulerWorker[] = [];
    let startAfter: bqs.ListWorkersRequest.IStartAfter | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await this.#caller.unary(ListWorkers, { filter: { all }, pageSize: 1000, startAfter });
      const ws = res.workers ?? [];
      for (const w of ws) {
        const op = w.currentOperation;
        out.push({
          id: { ...(w.id ?? {}) },
          operation: op?.name || undefined,
          actionDigest: op?.actionDigest?.hash ? `${op.actionDigest.hash}/${num(op.actionDigest.sizeBytes)}` : undefined,
          drained: !!w.drained,
        });
      }
      const total = num(res.paginationInfo?.totalEntries);
      if (!ws.length || out.length >= total) break;
      startAfter = { workerId: { ...(ws.at(-1)!.id ?? {}) } };
    }
    return out;
  }

  close(): void {
    this.#caller.close();
  }
}
