/**
 * `goma server --reapi-listen HOST:PORT` (the compiled binary): the embedded backend serves other REAPI
 * clients on a fixed address, printed at start, shown on the status page and by `goma doctor`; a client
 * authenticates with `authorization: Bearer <token>` (the per-user local token on loopback, or a token of
 * --auth-tokens), and nothing gets in without one. A non-loopback address without auth and a malformed
 * address are refused at start with one line.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { createHash } from "node:crypto";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { byteStreamService, casService } from "../../lib/reapi/grpc-service.ts";
import { build } from "../../lib/reapi/proto.ts";
import { RpcCaller } from "../../lib/reapi/rpc-caller.ts";
import { Code, GomaError } from "../../lib/util/status.ts";
import { uploadTestAction } from "../../lib/backend/test-actions.ts";
import { doctor, check } from "../doctor/helpers.ts";
import { freePort, gomaBin, run, startStack, type GomaStack } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "goma-reapi-listen-"));
const stacks: GomaStack[] = [];
after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** GetCapabilities on `addr` with `token` (none: no authorization header). */
async function capabilities(addr: string, token?: string) {
  const c = new ReapiClient({ target: addr, instanceName: "", bearerToken: token === undefined ? undefined : () => token });
  try {
    return await c.getCapabilities();
  } finally {
    c.close();
  }
}

const unauthenticated = (re: RegExp) => (e: unknown) => e instanceof GomaError && e.code === Code.Unauthenticated && re.test(e.rawMessage);

test("--reapi-listen: fixed address, printed, on the status page and in goma doctor; the local token is the credential", async () => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const config = join(dir, "config");
  const s = await startStack({ serverArgs: ["--reapi-listen", addr], env: { XDG_CONFIG_HOME: config } });
  stacks.push(s);
  assert.match(s.serverLog(), new RegExp(`^goma server REAPI service: grpc://${addr}, instance name "" \\(any\\), header authorization: Bearer <a token of the Goma port>$`, "m"));
  const token = readFileSync(join(config, "goma", "local-token"), "utf8").trim();

  const caps = await capabilities(addr, token);
  assert.equal(caps.executionCapabilities?.execEnabled, true);
  await assert.rejects(capabilities(addr), unauthenticated(/^auth failed: missing Authorization header/));
  await assert.rejects(capabilities(addr, "0".repeat(64)), unauthenticated(/^auth failed: /));

  // zstd works in the compiled binary: a compressed batch upload, read back through compressed-blobs/zstd.
  const data = Buffer.from("int main(void) { return 0; }\n".repeat(2000));
  const digest = { hash: createHash("sha256").update(data).digest("hex"), sizeBytes: data.length };
  const caller = new RpcCaller({ target: addr, bearerToken: () => token, requestMetadata: new Uint8Array(0) });
  try {
    const ZSTD = build.bazel.remote.execution.v2.Compressor.Value.ZSTD;
    assert.deepEqual(caps.cacheCapabilities?.supportedCompressors, [ZSTD]);
    const up = await caller.unary(casService.BatchUpdateBlobs, { instanceName: "", requests: [{ digest, data: zstdCompressSync(data), compressor: ZSTD }] });
    assert.equal(up.responses?.[0]?.status?.code ?? 0, 0, up.responses?.[0]?.status?.message ?? "");
    const chunks: Buffer[] = [];
    for await (const m of caller.serverStream(byteStreamService.Read, { resourceName: `compressed-blobs/zstd/${digest.hash}/${digest.sizeBytes}` })) {
      chunks.push(Buffer.from(m.data ?? []));
    }
    assert.ok(zstdDecompressSync(Buffer.concat(chunks)).equals(data));
  } finally {
    caller.close();
  }

  const page = await fetch(`http://127.0.0.1:${s.serverPort}/`, { headers: { authorization: `Bearer ${token}` } });
  const html = await page.text();
  assert.match(html, new RegExp(`REAPI service \\(--reapi-listen\\).*grpc://${addr}`, "s"));
  assert.match(html, /commands run.*declared compilers through goma's wrapper \(--exec-commands toolchain\)/s);

  const d = await doctor(s.env, ["--no-compile"]);
  assert.match(check(d, "backend.reachable").evidence, new RegExp(`GetCapabilities on the embedded backend at ${addr} \\(--reapi-listen: other REAPI clients use it too\\)`));
});

test("--reapi-listen with --auth-tokens: a token of the file is the Bearer credential", async () => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  writeFileSync(join(dir, "tokens"), "bazel-user-token-0123456789 alice\n");
  const s = await startStack({ proxy: false, serverArgs: ["--reapi-listen", addr, "--auth-tokens", join(dir, "tokens")] });
  stacks.push(s);
  assert.equal((await capabilities(addr, "bazel-user-token-0123456789")).cacheCapabilities?.actionCacheUpdateCapabilities?.updateEnabled, true);
  await assert.rejects(capabilities(addr, "another-token"), unauthenticated(/^auth failed: /));
});

test("--reapi-listen with --allow-unauthenticated: clients need no token", async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  const s = await startStack({ proxy: false, serverArgs: ["--reapi-listen", addr, "--allow-unauthenticated"] });
  stacks.push(s);
  assert.match(s.serverLog(), /REAPI service: grpc:\/\/127\.0\.0\.1:\d+, instance name "" \(any\), no token needed \(--allow-unauthenticated\)/);
  assert.equal((await capabilities(addr)).executionCapabilities?.execEnabled, true);
});

test("--reapi-listen refuses a non-loopback address without auth, and a malformed address, with one line", async () => {
  const cache = join(dir, "refused");
  const off = await run([gomaBin(), "server", "--port", "0", "--cache-dir", cache, "--reapi-listen", "0.0.0.0:8980"]);
  assert.equal(off.code, 2);
  assert.equal(off.stderr, 'goma server: refusing to listen on "0.0.0.0:8980" (--reapi-listen) without authentication: anyone who reaches the port could run commands on the backend. ' +
    "Give --auth-tokens FILE and/or --auth-secret FILE (see goma auth --help), or --allow-unauthenticated if the network is trusted, or --reapi-listen 127.0.0.1:PORT\n");
  const bad = await run([gomaBin(), "server", "--port", "0", "--cache-dir", cache, "--reapi-listen", "localhost"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'goma server: --reapi-listen wants HOST:PORT (e.g. 127.0.0.1:8980), got "localhost"\n');
  const both = await run([gomaBin(), "server", "--port", "0", "--cache-dir", cache, "--reapi-listen", "127.0.0.1:1", "--remoteexec-addr", "127.0.0.1:2"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^goma server: --reapi-listen is the embedded backend's address: it contradicts --remoteexec-addr\n$/);
  const policy = await run([gomaBin(), "server", "--port", "0", "--cache-dir", cache, "--exec-commands", "all"]);
  assert.equal(policy.code, 2);
  assert.equal(policy.stderr, 'goma server: --exec-commands must be toolchain or any, got "all"\n');
});

test("platform: goma's own compiles match the embedded worker with --platform-container-image; another client must send the same platform exactly", async () => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const config = join(dir, "config-platform");
  const image = "docker://goma-test@sha256:0123";
  const s = await startStack({ serverArgs: ["--reapi-listen", addr, "--platform-container-image", image, "--exec-commands", "any"], env: { XDG_CONFIG_HOME: config } });
  stacks.push(s);
  const proj = join(dir, "proj");
  mkdirSync(proj, { recursive: true });
  writeFileSync(join(proj, "a.c"), "int answer(void) { return 42; }\n");
  const before = await s.stats();
  const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "a.o"], { cwd: proj, env: s.env });
  assert.equal(r.code, 0, r.stderr);
  const after = await s.stats();
  assert.equal(after.remote! - before.remote!, 1, JSON.stringify(await s.tasks()));

  const token = readFileSync(join(config, "goma", "local-token"), "utf8").trim();
  const client = new ReapiClient({ target: addr, instanceName: "", bearerToken: () => token });
  try {
    const exact = await uploadTestAction(client, { argv: ["/bin/echo", "hi"], platform: { OSFamily: "linux", "container-image": image } });
    assert.equal((await client.execute(exact.actionDigest)).result?.exitCode, 0);
    const subset = await uploadTestAction(client, { argv: ["/bin/echo", "hi"], platform: { OSFamily: "linux" } });
    await assert.rejects(client.execute(subset.actionDigest), (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition &&
      e.rawMessage.startsWith('No workers exist for instance name "" platform {"properties":[{"name":"OSFamily","value":"linux"}]}; this worker offers {"properties":[{"name":"OSFamily","value":"linux"},{"name":"container-image","value":"docker://goma-test@sha256:0123"}]}'));
  } finally {
    client.close();
  }
});
