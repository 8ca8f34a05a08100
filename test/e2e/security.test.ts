/**
 * Who may execute, end to end with the compiled binary (issue 10 §2): the embedded backend's REAPI port
 * takes the Goma port's credentials and nothing less; a loopback server without token files protects
 * itself with the per-user local token, which the proxy finds by itself.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";
import { ReapiClient } from "../../lib/reapi/client.ts";
import { buildTestAction, uploadTestAction } from "../../lib/backend/test-actions.ts";
import { Code, GomaError } from "../../lib/util/status.ts";

const dir = mkdtempSync(join(tmpdir(), "goma-security-e2e-"));
const stacks: GomaStack[] = [];
after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function stack(opts: Parameters<typeof startStack>[0]): Promise<GomaStack> {
  const s = await startStack(opts);
  stacks.push(s);
  return s;
}

/** The embedded backend's address from the server's startup line. */
function backendAddress(s: GomaStack): string {
  const addr = /backend: embedded at (127\.0\.0\.1:\d+)/.exec(s.serverLog())?.[1];
  assert.ok(addr, s.serverLog());
  return addr;
}

const unauthenticated = (why: RegExp) => (e: unknown) => e instanceof GomaError && e.code === Code.Unauthenticated && why.test(e.rawMessage);

test("with --auth-tokens, the embedded backend's REAPI port refuses FindMissingBlobs and Execute without a token (UNAUTHENTICATED) and serves them with one", async () => {
  writeFileSync(join(dir, "tokens"), "tok-reapi-alice-123 alice\n");
  const s = await stack({ proxy: false, serverArgs: ["--auth-tokens", join(dir, "tokens")] });
  const target = backendAddress(s);
  const action = buildTestAction({ argv: ["/bin/sh", "-c", "id > /tmp/pwned"], salt: "never uploaded" });
  const none = new ReapiClient({ target, instanceName: "" });
  const wrong = new ReapiClient({ target, instanceName: "", bearerToken: () => "tok-wrong" });
  const alice = new ReapiClient({ target, instanceName: "", bearerToken: () => "tok-reapi-alice-123" });
  try {
    await assert.rejects(none.findMissingBlobs([action.actionDigest]), unauthenticated(/auth failed: missing Authorization header/));
    await assert.rejects(none.execute(action.actionDigest), unauthenticated(/missing Authorization header/));
    await assert.rejects(none.uploadBlobs(action.blobs), unauthenticated(/missing Authorization header/));
    await assert.rejects(wrong.execute(action.actionDigest), unauthenticated(/unknown token/));
    // With the Goma port's token the calls get through to the services.
    assert.deepEqual((await alice.findMissingBlobs([action.actionDigest])).map((d) => d.hash), [action.actionDigest.hash]);
    await assert.rejects(alice.execute(action.actionDigest), (e: unknown) => e instanceof GomaError && e.code === Code.FailedPrecondition &&
      /is not in the CAS/.test(e.rawMessage));
  } finally {
    for (const c of [none, wrong, alice]) c.close();
  }
  assert.doesNotMatch(s.serverLog(), /tok-reapi-alice-123|tok-wrong/, "no token in the server's log");
});

test("a loopback server without token files makes a 0600 local token, refuses requests without it with a clear 401, and the default proxy compiles remotely", async () => {
  const xdg = join(dir, "xdg");
  const s = await stack({ env: { XDG_CONFIG_HOME: xdg } });
  const tokenFile = join(xdg, "goma", "local-token");
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(xdg, "goma")).mode & 0o777, 0o700);
  const token = readFileSync(tokenFile, "utf8").trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.match(s.serverLog(), new RegExp(`goma server auth: the local token ${tokenFile} \\(its user only\\)`));

  // Another local user (no access to the file) sends no token: 401 naming the file and the way out.
  const ping = await fetch(`http://127.0.0.1:${s.serverPort}/cxx-compiler-service/ping`, { method: "POST", body: "" });
  assert.equal(ping.status, 401);
  assert.match(await ping.text(), new RegExp(`^auth failed: missing Authorization header: this server accepts only its own user's local token ${tokenFile} .*--auth-tokens or --auth-secret`));
  const e = await fetch(`http://127.0.0.1:${s.serverPort}/cxx-compiler-service/e`, { method: "POST", body: "", headers: { authorization: "Bearer 0000" } });
  assert.equal(e.status, 401);
  assert.match(await e.text(), /unknown token: it is not the server's local token/);

  // The REAPI port wants the same token.
  const target = backendAddress(s);
  const action = buildTestAction({ argv: ["/bin/true"], salt: "local token" });
  const none = new ReapiClient({ target, instanceName: "" });
  const own = new ReapiClient({ target, instanceName: "", bearerToken: () => token });
  try {
    await assert.rejects(none.findMissingBlobs([action.actionDigest]), unauthenticated(/missing Authorization header/));
    assert.equal((await own.findMissingBlobs([action.actionDigest])).length, 1);
    // Even with the token, the REAPI port runs no shell: only declared compilers behind goma's wrapper.
    const marker = join(dir, "pwned");
    const shell = await uploadTestAction(own, { argv: ["/bin/sh", "-c", `id > ${marker}`], env: { PATH: "/usr/bin:/bin" } });
    const res = await own.execute(shell.actionDigest);
    assert.equal(res.status?.code, Code.FailedPrecondition);
    assert.match(res.status?.message ?? "", /runs only declared compilers through goma's wrapper: the program is "\/bin\/sh"/);
    assert.equal(existsSync(marker), false);
  } finally {
    none.close();
    own.close();
  }

  // The proxy with the default configuration finds the token and compiles remotely.
  const src = join(dir, "local-token.c");
  writeFileSync(src, "int local_token_compile(void) { return 7; }\n");
  const r = await run([gomaBin(), "cc", "gcc", "-c", "local-token.c", "-o", "local-token.o"], { cwd: dir, env: s.env });
  assert.equal(r.code, 0, r.stderr);
  const [task] = await s.tasks();
  assert.equal(task?.outcome, "remote", JSON.stringify(task));
  const info = await run([gomaBin(), "auth", "info"], { env: s.env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /3\. local token \(loopback server\): .*xdg\/goma\/local-token \(present\)  ← used/);
  assert.match(info.stdout, /you are "[^"]+" \(local-token, no expiry\)/);
});
