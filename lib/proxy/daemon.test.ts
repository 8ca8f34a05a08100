import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { proxyConfigFromEnv } from "../config/proxy-config.ts";
import { serveHttp } from "../platform/serve.ts";
import { control, startProxy } from "./daemon.ts";
import { logLevel, setLogLevel } from "../util/log.ts";

test("startProxy() wires config and auth provider: the socket, the dashboard, stats naming the credentials' source, quit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-daemon-"));
  // A "server" that refuses every call (401), so nothing leaves this machine.
  const server = await serveHttp({ hostname: "127.0.0.1", port: 0, handler: async () => new Response("no\n", { status: 401 }) });
  try {
    const config = proxyConfigFromEnv({ GOMA_TMP_DIR: join(dir, "tmp"), GOMA_COMPILER_PROXY_PORT: "0", GOMA_SERVER_PORT: String(server.port), USER: "u", GOMA_LOG_LEVEL: "warn" });
    const asked: string[] = [];
    const levelBefore = logLevel();
    const p = await startProxy(config, { authorization: () => (asked.push("auth"), { header: "Bearer t", source: "stored token", path: "/x/token" }) });
    try {
      assert.equal(logLevel(), "warn", "the config's GOMA_LOG_LEVEL, set at start");
      setLogLevel(levelBefore);
      assert.equal(p.socketPath, join(dir, "tmp", "goma.ipc"));
      assert.equal(statSync(join(dir, "tmp")).mode & 0o777, 0o700);
      assert.ok(statSync(join(dir, "tmp", "goma_cache")).isDirectory());
      const s = await control(p.socketPath, "stats") as Record<string, unknown>;
      assert.equal(s.dashboardPort, p.dashboardPort);
      assert.equal(s.server, `http://127.0.0.1:${server.port}/cxx-compiler-service`);
      assert.deepEqual(s.auth, { source: "stored token", path: "/x/token" });
      assert.ok(asked.length >= 2, "asked at start and for stats");
      const page = await fetch(`http://127.0.0.1:${p.dashboardPort}/healthz`);
      assert.equal(page.status, 200);
      assert.deepEqual(await control(p.socketPath, "quit"), { ok: true });
      await p.closed;
      assert.equal(existsSync(p.socketPath), false);
    } finally {
      await p.stop();
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
