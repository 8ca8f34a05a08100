/**
 * The proxy introduces itself as Goma's compiler_proxy does (`compiler-proxy built by <user> at
 * <hash>@<unix time> on <date>`, reference/goma-protocol.md §1.2): Goma's servers parse that form for
 * their client statistics and log "unexpected client" for anything else. A stand-in server records the
 * header of every request the compiled proxy sends while a real compile goes through it.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run, startStack, type GomaStack } from "./harness.ts";

const dirs: string[] = [];
let stack: GomaStack | undefined;
after(async () => {
  await stack?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("the proxy sends Goma's compiler-proxy User-Agent, naming the commit the binary was built from", async () => {
  stack = await startStack({ server: false });
  const port = stack.serverPort;
  const seen: string[] = [];
  const fake = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.url} ${req.headers["user-agent"] ?? ""}`);
    req.resume();
    req.on("end", () => {
      res.statusCode = req.url?.endsWith("/ping") ? 200 : 503;
      res.end();
    });
  });
  await new Promise<void>((r) => fake.listen(port, "127.0.0.1", r));
  try {
    const proj = mkdtempSync(join(tmpdir(), "goma-ua-"));
    dirs.push(proj);
    writeFileSync(join(proj, "a.c"), "int a(void) { return 1; }\n");
    const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "a.o"], {
      cwd: proj, env: stack.env,
    });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await new Promise<void>((r) => fake.close(() => r()));
  }
  const exec = seen.filter((s) => s.includes("/e "));
  assert.ok(exec.length > 0, `the proxy sent no /e: ${seen.join("; ")}`);
  const repo = join(import.meta.dirname, "../..");
  for (const s of exec) {
    const m = /^\S+ compiler-proxy built by \S+ at ([0-9a-f]+)@(\d+) on .*$/.exec(s);
    assert.ok(m, `not Goma's form: ${s}`);
    // A commit of this repository (the one dist/goma was built from; HEAD may have moved since).
    assert.equal(m[1]!.length, 40, s);
    assert.equal(execFileSync("git", ["cat-file", "-t", m[1]!], { cwd: repo, encoding: "utf8" }).trim(), "commit");
    assert.ok(Number(m[2]) > 1_700_000_000 && Number(m[2]) <= Date.now() / 1000, s);
  }
});
