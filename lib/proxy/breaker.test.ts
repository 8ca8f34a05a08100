import { test } from "node:test";
import assert from "node:assert/strict";
import { Breaker } from "./breaker.ts";

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
