/**
 * `goma doctor`'s view of a Buildbarn scheduler, read from its BuildQueueState gRPC service
 * (lib/reapi/build-queue-state.ts): what the scheduler offers — every platform queue with its instance
 * name prefix, platform, and workers (registered, executing, idle), queued operations — next to what goma
 * server sends (its instance name and Action.platform), and whether one queue takes goma's actions.
 *
 * Buildbarn routes an action to the platform queue whose instance name prefix is the longest one that
 * is a whole-component prefix of the instance name ("" matches every name) and whose platform equals
 * Action.platform exactly (reference/reapi-buildbarn.md §2.3, §3). Each runner thread of a bb_worker
 * registers as one worker (its id has a "thread" label); the evidence counts both.
 */
import { BuildQueueStateClient, type SchedulerQueue, type SchedulerWorker } from "../reapi/build-queue-state.ts";
import type { TlsMaterial } from "../reapi/tls-credentials.ts";
import { Code, codeName, GomaError } from "../util/status.ts";
import { fail, pass, warn, type CheckResult } from "./check.ts";

/** What the scheduler checks need. */
export interface SchedulerCheckOptions {
  /** `host:port` of bb_scheduler's BuildQueueState service (bb-deployments: scheduler:8984). */
  target: string;
  /** What goma server sends. */
  instanceName: string;
  platform: Record<string, string>;
  insecure?: boolean;
  tls?: TlsMaterial | (() => TlsMaterial);
  bearerToken?: () => string | undefined;
  timeoutMs?: number;
}

/** One queue as the evidence shows it: `"hardlinking" {OSFamily=linux} size class 0`. */
export function queueLabel(q: Pick<SchedulerQueue, "instanceNamePrefix" | "platform" | "sizeClass">): string {
  return `${JSON.stringify(q.instanceNamePrefix)} {${q.platform.join(", ")}}${q.sizeClass ? ` size class ${q.sizeClass}` : ""}`;
}

/** True when `prefix` is "" or a whole-component prefix of `name` (Buildbarn's instance name matching). */
export function prefixMatches(prefix: string, name: string): boolean {
  return prefix === "" || name === prefix || name.startsWith(prefix + "/");
}

/** `K=V` strings sorted as Buildbarn sorts platform properties (name, then value, byte order). */
export function platformKey(p: Record<string, string>): string[] {
  return Object.entries(p).sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
}

/**
 * The queue that takes actions sent with `instanceName` and `platform`: the longest matching instance
 * name prefix among queues with exactly that platform; undefined when none.
 */
export function matchingQueue(queues: SchedulerQueue[], instanceName: string, platform: Record<string, string>): SchedulerQueue | undefined {
  const key = (kvs: string[]) => [...kvs].sort().join("\n");
  const want = key(platformKey(platform));
  return queues
    .filter((q) => prefixMatches(q.instanceNamePrefix, instanceName) && key(q.platform) === want)
    .sort((a, b) => b.instanceNamePrefix.length - a.instanceNamePrefix.length)[0];
}

/** Worker hosts (ids without the per-runner-thread label) of `workers`, e.g. `goma-test-1, goma-test-2`. */
export function workerNames(workers: SchedulerWorker[]): string[] {
  const names = new Set<string>();
  for (const w of workers) {
    const { thread: _thread, ...rest } = w.id;
    names.add(rest.worker ?? (Object.keys(rest).length ? Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(",") : JSON.stringify(w.id)));
  }
  return [...names].sort();
}

/**
 * Reads the scheduler's queues and compares them with what goma server sends. Never throws: an
 * unreachable scheduler is a finding.
 * @returns `backend.scheduler` (what the scheduler offers) and, when it answered, `backend.scheduler-match`.
 */
export async function runSchedulerChecks(o: SchedulerCheckOptions): Promise<CheckResult[]> {
  const client = new BuildQueueStateClient({ target: o.target, insecure: o.insecure, tls: o.tls, bearerToken: o.bearerToken, timeoutMs: o.timeoutMs });
  const sent = `instance name ${JSON.stringify(o.instanceName)} and platform {${platformKey(o.platform).join(", ")}}`;
  try {
    let queues: SchedulerQueue[];
    try {
      queues = await client.queues();
    } catch (err) {
      const e = GomaError.from(err);
      return [fail("backend.scheduler", "Buildbarn scheduler", `BuildQueueState on ${o.target}: ${codeName(e.code)}: ${e.rawMessage.slice(0, 300)}`,
        e.code === Code.Unimplemented
          ? `${o.target} is not bb_scheduler's BuildQueueState listener: give the address of its buildQueueStateGrpcServers (bb-deployments: the scheduler's port 8984)`
          : `bb_scheduler serves BuildQueueState only where its config lists buildQueueStateGrpcServers (bb-deployments: port 8984); check that address, or drop --buildbarn-scheduler`,
        { target: o.target })];
    }
    const workersOf = new Map<SchedulerQueue, SchedulerWorker[]>();
    for (const q of queues) workersOf.set(q, await client.workers(q).catch(() => []));
    const data = {
      target: o.target,
      queues: queues.map((q) => ({ ...q, workerNames: workerNames(workersOf.get(q) ?? []) })),
    };
    const describe = (q: SchedulerQueue) => {
      const names = workerNames(workersOf.get(q) ?? []);
      return `${queueLabel(q)}: ${q.workers} worker thread(s)${names.length ? ` on ${names.length} worker(s) (${names.join(", ")})` : ""}, ` +
        `${q.executing} executing, ${q.idle} idle, ${q.queued} queued${q.drains ? `, ${q.drains} drain(s)` : ""}`;
    };
    const offered = queues.length ? queues.map(describe).join("; ") : "no platform queues";
    const out: CheckResult[] = [pass("backend.scheduler", "Buildbarn scheduler", `${o.target} offers ${queues.length} platform queue(s): ${offered}`, data)];
    const q = matchingQueue(queues, o.instanceName, o.platform);
    if (!q) {
      const samePrefix = queues.filter((x) => prefixMatches(x.instanceNamePrefix, o.instanceName));
      const flags = (x: SchedulerQueue) => [`--remote-instance-name ${JSON.stringify(x.instanceNamePrefix)}`, ...x.platform.map((p) => `--platform-property ${p}`)].join(" ");
      out.push(fail("backend.scheduler-match", "scheduler queue for goma's actions", `goma server sends ${sent}: no platform queue takes it (the scheduler offers: ${queues.map(queueLabel).join("; ") || "none"})`,
        queues.length
          ? `start goma server with the instance name and every property of one queue, e.g. ${flags(samePrefix[0] ?? queues[0]!)} (platforms must be equal, property for property)`
          : "no worker has registered with the scheduler: start a bb_worker whose scheduler address is this scheduler's worker port",
        { sent: { instanceName: o.instanceName, platform: o.platform } }));
    } else if (q.workers === 0) {
      out.push(warn("backend.scheduler-match", "scheduler queue for goma's actions", `goma server sends ${sent}: queue ${queueLabel(q)} takes it, but has no worker now${q.removalAt ? ` (the scheduler drops it at ${new Date(q.removalAt).toISOString()})` : ""}`,
        "start the workers of this queue (scripts/buildbarn/start.sh worker), or check their logs: compiles wait in the queue, then fall back locally",
        { sent: { instanceName: o.instanceName, platform: o.platform }, queue: queueLabel(q) }));
    } else {
      const names = workerNames(workersOf.get(q) ?? []);
      out.push(pass("backend.scheduler-match", "scheduler queue for goma's actions", `goma server sends ${sent}: queue ${queueLabel(q)} takes it, ${q.workers} worker thread(s)` +
        `${names.length ? ` on ${names.length} worker(s): ${names.join(", ")}` : ""}`,
        { sent: { instanceName: o.instanceName, platform: o.platform }, queue: queueLabel(q), workers: q.workers, workerNames: names }));
    }
    return out;
  } finally {
    client.close();
  }
}
