/**
 * A sampler of what bb_scheduler runs (its BuildQueueState), for tests that act on a condition while a build
 * runs (test/buildbarn/workers.test.ts: kill a worker once it runs an action). Waiting on a condition ends
 * either way: it holds, or the sampler is stopped (the build ended) and the wait rejects at once, naming it.
 */
import { BuildQueueStateClient, type SchedulerQueue } from "../../lib/reapi/build-queue-state.ts";
import type { Buildbarn } from "./buildbarn.ts";

/** What the scheduler shows running, sampled while a build runs: action digest → the workers ("goma-test-K") seen running it. */
export interface Sampler {
  seen: Map<string, Set<string>>;
  /** The digests worker `name` runs right now (asks the scheduler). */
  runningOn(name: string): Promise<string[]>;
  /**
   * Resolves once `cond` holds for a sample (checked after every sample); rejects at once, naming `what`,
   * when the sampling stops (the build ended) before it held.
   */
  until(cond: () => Promise<boolean> | boolean, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Polls bb_scheduler's BuildQueueState (every 50 ms) for the workers of the build's one platform queue. */
export function sample(bb: Buildbarn): Sampler {
  const bqs = new BuildQueueStateClient({ target: bb.buildQueueState });
  const seen = new Map<string, Set<string>>();
  let queue: SchedulerQueue | undefined;
  let stopped = false;
  const running = async () => {
    queue ??= (await bqs.queues().catch(() => []))[0];
    if (!queue) return [];
    const ws = await bqs.workers(queue).catch(() => []);
    const now = ws.filter((w) => w.actionDigest).map((w) => ({ worker: w.id.worker ?? "?", digest: w.actionDigest! }));
    for (const c of now) seen.set(c.digest, (seen.get(c.digest) ?? new Set()).add(c.worker));
    return now;
  };
  const waiters: { cond: () => Promise<boolean> | boolean; resolve: () => void; reject: (e: Error) => void; what: string }[] = [];
  const loop = (async () => {
    while (!stopped) {
      await running();
      for (const w of [...waiters]) {
        // A condition that throws ends its own wait with that error, not the sampling.
        const held = await Promise.resolve().then(w.cond).catch((e: Error) => e);
        if (held === false) continue;
        waiters.splice(waiters.indexOf(w), 1);
        if (held instanceof Error) w.reject(held);
        else w.resolve();
      }
      await new Promise((r) => setTimeout(r, 50)); // the poll interval
    }
  })();
  return {
    seen,
    runningOn: async (name) => (await running()).filter((c) => c.worker === name).map((c) => c.digest),
    until: (cond, what) => new Promise((resolve, reject) => waiters.push({ cond, resolve, reject, what })),
    async stop() {
      stopped = true;
      await loop;
      bqs.close();
      for (const w of waiters.splice(0)) w.reject(new Error(`${w.what} never held: the sampling stopped (the build had ended)`));
    },
  };
}
