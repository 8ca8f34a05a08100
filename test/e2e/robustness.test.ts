/**
 * End to end, with the compiled binary: malformed frames on the proxy's unix socket get an error
 * answer (never a hung connection, never a dead proxy), and a flood of auth failures leaves a bounded
 * number of log lines on the server while the status page still counts every one.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type GomaStack } from "./harness.ts";

const stacks: GomaStack[] = [];
after(async () => {
  for (const s of stacks) await s.stop();
});

/** Largest wait for an answer before calling the connection hung (a failure guard, not a sync point). */
const HUNG_MS = 10_000;

/** Sends raw bytes (then half-closes when `end`), resolves with everything the proxy sent until it closed. */
function exchangeRaw(socketPath: string, bytes: Uint8Array, end: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socketPath);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`hung: no answer within ${HUNG_MS / 1000} s (got ${Buffer.concat(got).length} bytes)`));
    }, HUNG_MS);
    s.on("connect", () => {
      s.write(bytes);
      if (end) s.end();
    });
    s.on("data", (c: Buffer) => got.push(c));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

const frame = (json: string, declared?: number) => {
  const body = Buffer.from(json, "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32LE(declared ?? body.length);
  return Buffer.concat([head, body]);
};

test("proxy socket: a malformed frame gets an error answer instead of a hung connection, and the proxy keeps serving", async () => {
  const stack = await startStack({ server: false });
  stacks.push(stack);
  const sock = join(stack.env.GOMA_TMP_DIR!, "goma.ipc");
  const cases: [string, Buffer, boolean][] = [
    ["not JSON", frame("not json at all"), false],
    ["JSON null", frame("null"), false],
    ["a number", frame("5"), false],
    ["argv not strings", frame(JSON.stringify({ v: 1, argv: [1, 2], cwd: "/", env: {}, umask: 18, pid: 1 })), false],
    ["env not an object", frame(JSON.stringify({ v: 1, argv: ["gcc", "-c", "a.c"], cwd: "/", env: "PATH=/bin", umask: 18, pid: 1 })), false],
    ["truncated, then half-closed", frame('{"v":1,"argv":["gcc"]', 500), true],
    ["three bytes, then half-closed", Buffer.from([1, 2, 3]), true],
    ["header length over the limit", Buffer.from([0xff, 0xff, 0xff, 0x7f]), false],
  ];
  for (const [name, bytes, end] of cases) {
    const answer = await exchangeRaw(sock, bytes, end);
    assert.ok(answer.length > 4, `${name}: no answer`);
    const header = JSON.parse(answer.subarray(4, 4 + answer.readUInt32LE(0)).toString("utf8"));
    assert.equal(header.kind, "error", `${name}: ${JSON.stringify(header)}`);
    assert.match(header.reason, /^malformed request: /, name);
    assert.equal(header.reason.includes("\n"), false, `${name}: one line`);
  }
  const ping = await exchangeRaw(sock, frame(JSON.stringify({ v: 1, control: "ping" })), false);
  assert.match(ping.toString("utf8"), /"ok":true/, "the proxy still answers");
});

test("server: repeated auth failures are logged at a bounded rate and all counted on the status page", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-e2e-authlog-"));
  writeFileSync(join(dir, "tokens"), "tok-alice-1234567 alice\n");
  const stack = await startStack({ proxy: false, serverArgs: ["--auth-tokens", join(dir, "tokens")] });
  stacks.push(stack);
  rmSync(dir, { recursive: true, force: true });
  const url = `http://127.0.0.1:${stack.serverPort}/cxx-compiler-service/ping`;
  for (let i = 0; i < 300; i++) {
    const r = await fetch(url, { method: "POST", headers: { authorization: `Bearer wrong-${i % 3}` } });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
  }
  const page = await (await fetch(`http://127.0.0.1:${stack.serverPort}/`)).text();
  assert.match(page, /auth failures<\/th><td>300</, "every failure is counted");
  const lines = stack.serverLog().split("\n").filter((l) => /auth failed/.test(l));
  assert.ok(lines.length <= 6, `${lines.length} log lines for 300 auth failures:\n${lines.slice(0, 8).join("\n")}`);
  assert.ok(lines.length >= 1, "the first failure is logged");
  assert.ok(stack.serverLog().includes("further auth failures are counted, not logged"), "the log says that it stops logging each one");
});
