/**
 * The per-user local token never goes to another user's process: with the goma server down, a process of
 * user nobody listens on the server's loopback port (as anyone could), and the proxy, which would send
 * the local token to a loopback server, sends nothing. The compile runs locally with the reason, and the
 * squatter receives no request carrying the token. A listener of the proxy's own user still gets it.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "../e2e/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "goma-squatter-"));
const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

const TOKEN = "ab".repeat(32);
const xdg = join(dir, "xdg");
mkdirSync(join(xdg, "goma"), { recursive: true, mode: 0o700 });
writeFileSync(join(xdg, "goma", "local-token"), `${TOKEN}\n`, { mode: 0o600 });
writeFileSync(join(dir, "a.c"), "int main(void) { return 0; }\n");

/** An HTTP listener on 127.0.0.1:0 run as nobody (uid 65534) that prints every request's Authorization header. */
async function squatter(): Promise<{ port: number; seen: () => string; proc: ChildProcess }> {
  const script = [
    "import http.server, sys",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_POST(self):",
    "        print('REQUEST', self.path, 'AUTH', self.headers.get('Authorization'), flush=True)",
    "        self.send_response(503); self.end_headers()",
    "    def log_message(self, *a): pass",
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)",
    "print('PORT', s.server_port, flush=True)",
    "s.serve_forever()",
  ].join("\n");
  const proc = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/usr/bin/python3", "-u", "-c", script], { stdio: ["ignore", "pipe", "pipe"] });
  cleanup.push(() => void proc.kill("SIGKILL"));
  let out = "";
  let err = "";
  proc.stderr!.on("data", (b: Buffer) => void (err += b));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on("data", (b: Buffer) => {
      out += b;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (code) => reject(new Error(`the squatter exited (${code}): ${err}`)));
  });
  return { port, seen: () => out, proc };
}

async function compileThrough(port: number): Promise<{ outcome?: string; reason?: string }> {
  const stack: GomaStack = await startStack({ server: false, serverPort: port, env: { XDG_CONFIG_HOME: xdg } });
  cleanup.push(() => stack.stop());
  try {
    const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "a.o"], { cwd: dir, env: stack.env });
    assert.equal(r.code, 0, r.stderr);
    return (await stack.tasks())[0]!;
  } finally {
    await stack.stop();
  }
}

test("another user's process on the server's loopback port gets no local token; the compile runs locally, saying why", async () => {
  const s = await squatter();
  const task = await compileThrough(s.port);
  assert.equal(task.outcome, "localFallback", JSON.stringify(task));
  assert.match(task.reason!, new RegExp(`the process listening on loopback port ${s.port} runs as uid 65534, not as you \\(uid ${process.getuid!()}\\)`));
  assert.doesNotMatch(s.seen(), new RegExp(TOKEN), "the token never reached the squatter");
  assert.doesNotMatch(s.seen(), /AUTH Bearer/);
});

test("a listener of the proxy's own user is sent the local token (what a loopback goma server needs)", async () => {
  const seen: string[] = [];
  const srv = createServer((req, res) => {
    seen.push(String(req.headers.authorization));
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  cleanup.push(() => void srv.close());
  const task = await compileThrough((srv.address() as { port: number }).port);
  assert.equal(task.outcome, "localFallback", "our stand-in answers 503");
  assert.ok(seen.includes(`Bearer ${TOKEN}`), JSON.stringify(seen));
});
