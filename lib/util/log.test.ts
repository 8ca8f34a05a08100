import { test } from "node:test";
import assert from "node:assert/strict";
import { isLogLevel, log, logLevel, recentLogLines, setLogLevel } from "./log.ts";

test("setLogLevel() after import decides what is logged from then on (the module reads no variable)", () => {
  const before = logLevel();
  const seen = (marker: string) => recentLogLines().some((l) => l.endsWith(marker));
  const write = process.stderr.write;
  const lines: string[] = [];
  process.stderr.write = ((s: string) => (lines.push(s), true)) as typeof process.stderr.write;
  try {
    assert.equal(before, "info", "info until the config sets it, whatever GOMA_LOG_LEVEL says");
    setLogLevel("warn");
    assert.equal(logLevel(), "warn");
    log.info("log-test-info-under-warn");
    log.warn("log-test-warn-under-warn");
    assert.deepEqual([seen("log-test-info-under-warn"), seen("log-test-warn-under-warn")], [false, true]);
    setLogLevel("debug");
    log.debug("log-test-debug-under-debug");
    assert.equal(seen("log-test-debug-under-debug"), true);
    setLogLevel("error");
    log.warn("log-test-warn-under-error");
    log.error("log-test-error-under-error");
    assert.deepEqual([seen("log-test-warn-under-error"), seen("log-test-error-under-error")], [false, true]);
    assert.match(lines.join(""), /^\S+Z WARN log-test-warn-under-warn$/m, "the lines go to stderr");
  } finally {
    process.stderr.write = write;
    setLogLevel(before);
  }
  assert.deepEqual(["error", "warn", "info", "debug", "verbose"].map(isLogLevel), [true, true, true, true, false]);
});
