import { test } from "node:test";
import assert from "node:assert/strict";
import { LogThrottle } from "./log-throttle.ts";

test("LogThrottle logs a burst per window, one notice, then a summary of what it suppressed", () => {
  let t = 0;
  const th = new LogThrottle({ what: "auth failures", burst: 2, windowMs: 1000, now: () => t });
  const all: string[] = [];
  for (let i = 0; i < 100; i++) all.push(...th.lines(`fail ${i}`));
  assert.deepEqual(all, ["fail 0", "fail 1", "further auth failures are counted, not logged, for 1 s (the status page counts them all)"]);
  t = 1500;
  assert.deepEqual(th.lines("fail 100"), ["98 auth failures were not logged in the last 2 s", "fail 100"]);
});
