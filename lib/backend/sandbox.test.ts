/**
 * The embedded backend's bubblewrap sandbox on a real backend (lib/backend/sandbox.ts): an action writes
 * its own outputs but nothing outside its directory, sees none of the backend's data, has no network
 * (a loopback port this test listens on cannot be reached), and runs as nobody when the server is root.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { toDigest } from "../digest/digest.ts";
import { ReapiClient } from "../reapi/client.ts";
import { Code } from "../util/status.ts";
import { type EmbeddedBackend, startEmbeddedBackend } from "./embedded-backend.ts";
import { TEST_PATH_ENV, uploadTestAction } from "./test-actions.ts";

let dir: string;
let backend: EmbeddedBackend;
let client: ReapiClient;
let listener: Server;
let port = 0;
let connections = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "goma-sandbox-"));
  // Any command (the sandbox is tested on its own here), and the sandbox is required: no silent fallback.
  backend = await startEmbeddedBackend({ dataDir: join(dir, "data"), unauthenticated: true, commandPolicy: "any", sandbox: "required" });
  client = new ReapiClient({ target: backend.address, instanceName: "" });
  listener = createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()));
  port = (listener.address() as { port: number }).port;
});
after(async () => {
  client.close();
  await backend.close();
  listener.close();
  await rm(dir, { recursive: true, force: true });
});

async function sh(script: string, outputPaths: string[] = []) {
  const a = await uploadTestAction(client, { argv: ["/bin/bash", "-c", script], env: TEST_PATH_ENV, outputPaths, salt: String(Math.random()) });
  const res = await client.execute(a.actionDigest);
  assert.equal(res.status?.code ?? 0, Code.OK, res.status?.message ?? "");
  const text = async (d: unknown) => Buffer.from(await client.readBlob(toDigest(d as never))).toString();
  return { res, stdout: await text(res.result!.stdoutDigest), stderr: await text(res.result!.stderrDigest) };
}

test("the backend reports bubblewrap as its sandbox", () => {
  assert.equal(backend.sandbox.kind, "bwrap");
  assert.match(backend.sandbox.describe, /^bubblewrap \(\/usr\/bin\/bwrap\): read-only system, writable action directory only, no network, user nobody \(65534\)$/);
});

test("an action runs as nobody, writes its outputs, and cannot write outside its directory", async () => {
  const outside = join(dir, "outside");
  await rm(outside, { force: true, recursive: true });
  await (await import("node:fs/promises")).mkdir(outside);
  await chmod(outside, 0o777); // writable for anyone: only the read-only mount stops the action
  const { res, stdout } = await sh([
    "id -u; id -g",
    "mkdir -p out && echo mine > out/o.txt",
    `echo x > ${outside}/f 2>/dev/null && echo wrote-outside || echo outside-refused`,
    `echo x > /etc/goma-sandbox-test 2>/dev/null && echo wrote-etc || echo etc-refused`,
    `ls ${join(dir, "data", "cas")} 2>/dev/null | head -1 | grep -q . && echo sees-cas || echo cas-hidden`,
  ].join("\n"), ["out/o.txt"]);
  assert.deepEqual(stdout.trim().split("\n"), ["65534", "65534", "outside-refused", "etc-refused", "cas-hidden"]);
  assert.equal(res.result?.outputFiles?.[0]?.path, "out/o.txt");
  assert.equal(existsSync(join(outside, "f")), false);
  assert.equal(existsSync("/etc/goma-sandbox-test"), false);
  assert.deepEqual(await readdir(join(dir, "data", "exec")), [], "the action directory is removed");
});

test("an action has no network: a loopback port the test listens on cannot be reached", async () => {
  const { stdout } = await sh(`(echo hi > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo connected || echo no-network`);
  assert.equal(stdout.trim(), "no-network");
  assert.equal(connections, 0);
  // The same connection from outside the sandbox works: the test's listener is real.
  const { createConnection } = await import("node:net");
  await new Promise<void>((resolve, reject) => createConnection(port, "127.0.0.1", resolve).on("error", reject));
});

/** CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat). */
async function childrenCpuSeconds(): Promise<number> {
  const stat = (await import("node:fs")).readFileSync("/proc/self/stat", "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const { execFileSync } = await import("node:child_process");
  const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return (Number(rest[13]) + Number(rest[14])) / hz;
}

test("an action's CPU time is the server's children's (what goma bench and rusage count)", async () => {
  const before = await childrenCpuSeconds();
  // A quarter of a second or more of shell arithmetic inside the sandbox: reaped through bwrap, it is counted.
  const { stdout } = await sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo $i");
  assert.equal(stdout.trim(), "200000");
  const used = (await childrenCpuSeconds()) - before;
  assert.ok(used >= 0.1, `the sandboxed loop's CPU time reached this process's children's: ${used.toFixed(3)} s`);
});
