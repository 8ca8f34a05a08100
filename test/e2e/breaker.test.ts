/**
 * End to end: the proxy's breaker (lib/proxy/breaker.ts) counts one outage once. A stand-in server on
 * the proxy's GOMA_SERVER_PORT answers /ping, holds every /e until eight compiles of a -j8 burst are in
 * flight, then drops them all at once (a server that went away). Before, each of the eight failures
 * counted and remote compiles were paused for 60 s; now it is one failure, below the threshold, and
 * the next compile goes to the server again. Every compile still succeeds locally.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;
let fake: Server;
const held: Socket[] = [];
let wantHeld = 0;
let onHeld: () => void = () => {};

/** A minimal HTTP/1.1 server: 200 "ok" for /ping, every /e held open until the test drops it. */
function fakeServer(port: number): Promise<Server> {
  const srv = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => {});
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.byteLength < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        const path = head.split(" ")[1] ?? "";
        if (path.endsWith("/e")) {
          held.push(sock);
          if (held.length >= wantHeld) onHeld();
          return;
        }
        sock.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nok\n");
      }
    });
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

/** Resolves once `n` /e requests are held. */
function whenHeld(n: number): Promise<void> {
  wantHeld = n;
  return new Promise((resolve) => {
    onHeld = resolve;
    if (held.length >= n) resolve();
  });
}

function dropHeld(): void {
  for (const s of held.splice(0)) s.destroy();
}

/** The breaker's counters as the dashboard's stats page (/statz) shows them. */
const breakerState = async () => {
  const html = await (await fetch(`http://127.0.0.1:${stack.dashboardPort}/statz`)).text();
  const n = (k: string) => Number(new RegExp(`<td>breaker\\.${k}</td><td>(\\d+)</td>`).exec(html)?.[1] ?? NaN);
  return { failures: n("consecutiveFailures"), pausedForMs: n("pausedForMs") };
};

before(async () => {
  stack = await startStack({ server: false });
  fake = await fakeServer(stack.serverPort);
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-breaker-"));
  for (let i = 0; i < 9; i++) writeFileSync(join(proj, `f${i}.c`), `int f${i}(int x) { return x * ${i + 2}; }\n`);
});

after(async () => {
  dropHeld();
  fake?.close();
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

test("breaker: eight compiles failing together in one outage count once; the next compile tries the server again", async () => {
  const cc = (i: number) => run([gomaBin(), "cc", "gcc", "-O2", "-c", `f${i}.c`, "-o", `f${i}.o`], { cwd: proj, env: stack.env });
  const inFlight = whenHeld(8);
  const burst = Array.from({ length: 8 }, (_, i) => cc(i));
  await inFlight;
  dropHeld();
  for (const [i, r] of (await Promise.all(burst)).entries()) {
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(proj, `f${i}.o`)), `f${i}.o compiled locally`);
  }
  const stats = await stack.stats();
  assert.equal(stats.localFallback, 8);
  assert.deepEqual(await breakerState(), { failures: 1, pausedForMs: 0 }, "one outage, one failure, no pause");

  const next = whenHeld(1);
  const ninth = cc(8);
  await next; // it reached the server: not paused
  dropHeld();
  assert.equal((await ninth).code, 0);
  const last = (await stack.tasks()).find((t) => t.argv.includes("f8.c"));
  assert.doesNotMatch(last?.reason ?? "", /paused/, "the ninth compile was sent, not paused");
  assert.equal((await breakerState()).failures, 2);
});
