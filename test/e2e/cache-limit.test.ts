/**
 * The embedded backend's cache size limit through the compiled binary: `goma server --cache-max-size-mb
 * 1` keeps its CAS and action cache under 1 MiB while a build produces several MiB of objects, every
 * object still equals a local compile's, compiles running while entries are evicted do not fall back,
 * and a malformed limit is refused at start.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run, startStack, type GomaStack } from "./harness.ts";

const MiB = 1024 * 1024;
const N = 16;
let stack: GomaStack;
let proj: string;

/** Bytes the entry files of a disk store occupy (4 KiB blocks), tmp/ excluded. */
function usedBytes(dir: string): number {
  let n = 0;
  for (const sub of readdirSync(dir)) {
    if (sub === "tmp" || !statSync(join(dir, sub)).isDirectory()) continue;
    for (const f of readdirSync(join(dir, sub))) n += Math.ceil(statSync(join(dir, sub, f)).size / 4096) * 4096;
  }
  return n;
}

before(async () => {
  stack = await startStack({ serverArgs: ["--cache-max-size-mb", "1"] });
  proj = mkdtempSync(join(tmpdir(), "goma-cache-limit-"));
  // Each object holds a 200 KiB table: 16 of them are 3.2 MiB, three times the limit.
  for (let i = 0; i < N; i++) {
    writeFileSync(join(proj, `t${i}.c`), `const unsigned char table${i}[204800] = { ${i + 1} };\nint get${i}(int k) { return table${i}[k]; }\n`);
  }
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

test("--cache-max-size-mb 1: the stores stay under 1 MiB and every object equals a local compile's", async () => {
  const s0 = await stack.stats();
  const queue = Array.from({ length: N }, (_, i) => i);
  const args = (i: number) => ["gcc", "-O1", "-c", `t${i}.c`, "-o", `t${i}.o`];
  await Promise.all([0, 1].map(async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const r = await run([gomaBin(), "cc", ...args(i)], { cwd: proj, env: stack.env });
      assert.equal(r.code, 0, r.stderr);
    }
  }));
  const s1 = await stack.stats();
  assert.equal(s1.remote! - s0.remote!, N, `every compile ran remotely: ${JSON.stringify((await stack.tasks()).map((t) => t.reason).filter(Boolean))}`);
  assert.equal(s1.localFallback! - s0.localFallback!, 0);
  mkdirSync(join(proj, "local"), { recursive: true });
  for (let i = 0; i < N; i++) {
    const remote = readFileSync(join(proj, `t${i}.o`));
    assert.ok(remote.byteLength > 200 * 1024);
    assert.equal((await run(["gcc", "-O1", "-c", `t${i}.c`, "-o", `local/t${i}.o`], { cwd: proj })).code, 0);
    assert.ok(remote.equals(readFileSync(join(proj, "local", `t${i}.o`))), `t${i}.o differs from a local compile`);
  }
  const backend = join(stack.tmp, "server", "backend");
  const used = usedBytes(join(backend, "cas")) + usedBytes(join(backend, "ac"));
  assert.ok(used <= 1 * MiB, `the stores hold ${used} bytes, over the 1 MiB limit`);
  assert.match(stack.serverLog(), /cache size limit: evicted \d+ least recently used entries/);
  const status = await (await fetch(`http://127.0.0.1:${stack.serverPort}/`)).text();
  assert.match(status, /of 1\.0 MiB in \d+ entries; evicted [1-9]\d*/);
});

test("a malformed limit is refused at start, naming the flag", async () => {
  const r = await run([gomaBin(), "server", "--port", "0", "--cache-dir", join(proj, "bad"), "--cache-max-size-mb", "10G"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cache size limit must be a whole number of MiB .*got "10G"/);
  const e = await run([gomaBin(), "server", "--port", "0", "--cache-dir", join(proj, "bad")], { env: { GOMA_SERVER_CACHE_MAX_SIZE_MB: "-5" } });
  assert.equal(e.code, 2);
  assert.match(e.stderr, /GOMA_SERVER_CACHE_MAX_SIZE_MB/);
});
