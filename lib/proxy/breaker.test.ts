import { test } from "node:test";
import assert from "node:assert/strict";
import { Breaker, isOutage } from "./breaker.ts";
import { Code, GomaError } from "../util/status.ts";

test("Breaker opens after the threshold, doubles its cool-down, and closes on success", () => {
  let t = 0;
  const b = new Breaker({ threshold: 3, baseCoolDownMs: 1000, maxCoolDownMs: 4000, now: () => t });
  b.failure("refused");
  b.failure("refused");
  assert.equal(b.blocked(), undefined, "below the threshold compiles still go remote");
  b.failure("refused");
  assert.match(b.blocked() ?? "", /paused for 1 s after 3 consecutive failures: refused/);
  t += 1000;
  assert.equal(b.blocked(), undefined, "half-open once the cool-down ends");
  b.failure("still refused");
  assert.match(b.blocked() ?? "", /paused for 2 s after 4/);
  t += 2000;
  b.failure("x");
  t += 3999;
  assert.ok(b.blocked());
  t += 1;
  b.failure("y");
  assert.equal(b.state().pausedForMs, 4000, "capped at maxCoolDownMs");
  b.success();
  assert.equal(b.blocked(), undefined);
  assert.deepEqual(b.state(), { consecutiveFailures: 0, pausedForMs: 0 });
});

/**
 * A -j8 build against a server that is down from t=1 s to t=4 s; each compile takes 200 ms, a local one
 * as long. Returns when (ms) remote compiles went through again after the outage.
 */
function simulateOutage(b: Breaker, clock: { t: number }): number {
  const down = (ms: number) => ms >= 1000 && ms < 4000;
  const slots = Array.from({ length: 8 }, () => ({ until: 0, remote: false, ticket: 0 }));
  for (clock.t = 0; clock.t < 120_000; clock.t += 10) {
    for (const s of slots) {
      if (clock.t < s.until) continue;
      if (s.remote) {
        if (down(clock.t)) b.failure("connection refused", s.ticket);
        else {
          b.success();
          if (clock.t > 4000) return clock.t;
        }
      }
      s.remote = b.blocked() === undefined;
      if (s.remote) s.ticket = b.begin();
      s.until = clock.t + 200;
    }
  }
  return Infinity;
}

test("Breaker counts one outage once, not once per in-flight request: at -j8 a 3 s outage pauses remote compiles for one cool-down, not 60 s", () => {
  const clock = { t: 0 };
  const b = new Breaker({ now: () => clock.t });
  const resumed = simulateOutage(b, clock);
  assert.ok(resumed <= 4000 + 5000 + 1000, `remote compiles resumed at ${resumed} ms, ${resumed - 4000} ms after the server came back`);
});

test("Breaker: failures of requests begun before the last counted failure or success are the same event", () => {
  let t = 0;
  const b = new Breaker({ threshold: 2, baseCoolDownMs: 1000, now: () => t });
  const early = [b.begin(), b.begin(), b.begin()];
  for (const k of early) b.failure("refused", k);
  assert.equal(b.state().consecutiveFailures, 1, "three requests in flight when the server went away: one event");
  b.failure("refused", b.begin());
  assert.match(b.blocked() ?? "", /paused for 1 s after 2 consecutive failures/);
  const late = b.begin();
  t += 1000;
  b.success();
  b.failure("refused", late);
  assert.equal(b.blocked(), undefined, "a failure from before the success does not reopen the breaker");
  b.failure("refused");
  assert.equal(b.state().consecutiveFailures, 1, "without a ticket every failure counts (old callers)");
});

test("isOutage: only an unreachable or unavailable server counts, not a per-request error such as a corrupt blob", () => {
  assert.equal(isOutage(new GomaError(Code.Unavailable, "cannot reach goma server: connection refused")), true);
  assert.equal(isOutage(new GomaError(Code.DeadlineExceeded, "timed out")), true);
  assert.equal(isOutage(new GomaError(Code.Internal, "goma server answered HTTP 500 on /e: blob digest mismatch")), false);
  assert.equal(isOutage(new GomaError(Code.DataLoss, "output a.o: content does not match its digest")), false);
  assert.equal(isOutage(new GomaError(Code.InvalidArgument, "server refused the compile")), false);
});
