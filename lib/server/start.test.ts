import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverConfigFromFlags } from "../config/server-config.ts";
import { logLevel, setLogLevel } from "../util/log.ts";
import { startServer } from "./start.ts";

test("startServer() logs at its config's GOMA_LOG_LEVEL (read by lib/config, set at start)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-server-start-"));
  const before = logLevel();
  try {
    const cfg = serverConfigFromFlags({ port: "0", "cache-dir": join(dir, "cache"), "exec-sandbox": "off", "allow-unauthenticated": true }, [], { GOMA_LOG_LEVEL: "error" });
    assert.equal(cfg.logLevel, "error");
    const s = await startServer(cfg);
    try {
      assert.equal(logLevel(), "error");
    } finally {
      await s.stop();
    }
  } finally {
    setLogLevel(before);
    rmSync(dir, { recursive: true, force: true });
  }
});
