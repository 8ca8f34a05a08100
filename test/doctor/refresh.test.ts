/**
 * `goma doctor` refreshes the proxy's view of the server: a proxy started before its server keeps the
 * "cannot reach goma server" of its last ping until something asks again; doctor makes it ping now, so
 * it reports the server as it is when doctor runs (and the proxy's own status is fresh afterwards).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "../e2e/harness.ts";
import { check, doctor } from "./helpers.ts";

let stack: GomaStack | undefined;
let server: ChildProcess | undefined;
let dir: string | undefined;

after(async () => {
  server?.kill("SIGTERM");
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts `goma server` on `port`; resolves once it printed its listening line (at most 60 s). */
function startServer(port: number, cacheDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(gomaBin(), ["server", "--port", String(port), "--cache-dir", cacheDir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`goma server not listening after 60 s:\n${out}`)), 60_000);
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes(`listening on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`goma server exited ${code}:\n${out}`));
    });
  });
}

const health = async (env: Record<string, string>) => {
  const r = await run([gomaBin(), "proxy", "status", "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { health: string }).health;
};

test("a server started after the proxy: goma doctor sees it up, not the proxy's stale 'cannot reach'", async () => {
  stack = await startStack({ server: false });
  dir = mkdtempSync(join(tmpdir(), "goma-doctor-refresh-"));
  writeFileSync(join(dir, "a.c"), "int a(void) { return 1; }\n");
  // A compile while the server is down: local fallback, and the proxy's last ping failed.
  const c = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "a.o"], { cwd: dir, env: stack.env });
  assert.equal(c.code, 0, c.stderr);
  const down = await doctor(stack.env, ["--no-compile"]);
  assert.equal(check(down, "proxy.socket").status, "warn");
  assert.match(check(down, "proxy.socket").evidence, /health "running: cannot reach goma server/);

  server = await startServer(stack.serverPort, join(dir, "server"));
  assert.match(await health(stack.env), /^running: cannot reach goma server/, "the proxy's view is stale until someone asks");
  const up = await doctor(stack.env, ["--no-compile"]);
  const p = check(up, "proxy.socket");
  assert.equal(p.status, "pass", p.evidence);
  assert.match(p.evidence, /health "ok"/);
  assert.equal(check(up, "server.ping").status, "pass");
  assert.equal(await health(stack.env), "ok", "doctor refreshed the proxy's own view too");
});
