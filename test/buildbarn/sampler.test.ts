/**
 * test/buildbarn/sampler.ts: a wait on a condition ends when the sampler stops (the build ended) with an
 * error naming the condition, instead of hanging to the test's timeout (workers.test.ts's kill trigger did,
 * when the build finished before worker 2 had run enough), and a condition that throws ends its own wait.
 * The scheduler address answers nothing (a closed port): the sampler sees no queue and keeps sampling.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { sample } from "./sampler.ts";
import type { Buildbarn } from "./buildbarn.ts";

/** A loopback port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test("sampler: stop() rejects a wait whose condition never held, naming it; a throwing condition rejects its wait", async () => {
  const s = sample({ buildQueueState: `127.0.0.1:${await closedPort()}` } as Buildbarn);
  let checks = 0;
  let sawCheck: () => void = () => {};
  const checked = new Promise<void>((r) => { sawCheck = r; });
  const never = s.until(() => { checks++; sawCheck(); return false; }, "the kill trigger");
  const outcome = never.then(() => "held", (e: Error) => e);
  const thrown = s.until(() => { throw new Error("metrics: 500"); }, "a broken condition").then(() => "held", (e: Error) => e);
  assert.equal(((await thrown) as Error).message, "metrics: 500");
  await checked; // sampled at least once
  await s.stop();
  const e = await outcome;
  assert.ok(e instanceof Error, `the wait ended with ${String(e)}`);
  assert.match(e.message, /^the kill trigger never held: the sampling stopped \(the build had ended\)$/);
  assert.ok(checks > 0);
});
