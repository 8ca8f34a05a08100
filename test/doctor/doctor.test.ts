/**
 * `goma doctor` against real processes, each failure reproduced on purpose: a healthy chain, a server
 * with the wrong token, a stopped proxy, an auth file path with `~`, the dashboard port taken by another
 * process, a platform no worker offers (goma server in front of another server's embedded backend), an
 * unreachable backend, a 502 from a proxy in between, GOMACTL_USE_PROXY and unknown GOMA_* variables.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, freePort, gomaBin, run, type GomaStack } from "../e2e/harness.ts";
import { startProxyWith } from "../auth/proxy.ts";
import { check, doctor } from "./helpers.ts";
import { localTokenPath } from "../../lib/auth/local-token.ts";

let dir: string;
const stacks: GomaStack[] = [];
const children: ChildProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "goma-doctor-test-"));
  writeFileSync(join(dir, "tokens"), "tok-right-123456 alice\n");
  writeFileSync(join(dir, "right"), "Bearer tok-right-123456\n");
  writeFileSync(join(dir, "wrong"), "Bearer tok-wrong-654321\n");
});

after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  for (const c of children) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

async function stack(opts: Parameters<typeof startStack>[0] = {}): Promise<GomaStack> {
  const s = await startStack(opts);
  stacks.push(s);
  return s;
}

test("a healthy chain passes: backend tiny action and a real compile with its stage times", async () => {
  const s = await stack();
  const d = await doctor(s.env);
  assert.equal(d.code, 0, JSON.stringify(d.report.checks.filter((c) => c.status === "fail"), null, 1));
  assert.equal(d.report.ok, true);
  assert.equal(check(d, "server.ping").status, "pass");
  assert.equal(check(d, "backend.reachable").status, "pass");
  assert.match(check(d, "backend.api").evidence, /2\.0–2\.3/);
  assert.equal(check(d, "backend.digest").status, "pass");
  assert.match(check(d, "backend.action").evidence, /^\/usr\/bin\/gcc --version \(through goma's wrapper, with its environment manifest\) ran on a worker with platform \{OSFamily=linux\} in \d+ ms: gcc /);
  assert.equal(check(d, "backend.sandbox").status, "pass");
  assert.match(check(d, "backend.sandbox").evidence, /^bubblewrap \(\/usr\/bin\/bwrap\): read-only system, writable action directory only, no network/);
  const c = check(d, "compile");
  assert.equal(c.status, "pass", c.evidence);
  assert.match(c.evidence, /ran remotely in \d+ ms \(proxy \d+ ms: flags [\d.]+ ms, info [\d.]+ ms, inputs [\d.]+ ms, request [\d.]+ ms, exec [\d.]+ ms, outputs [\d.]+ ms\)/);
  const text = await run([gomaBin(), "doctor", "--no-compile"], { env: s.env });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^pass  server \/ping: http:\/\/127\.0\.0\.1:\d+\/cxx-compiler-service\/ping: 200 in \d+ ms$/m);
  assert.match(text.stdout, /^OK: \d+ passed, \d+ warnings, 0 failed/m);
});

test("a server with another token: /ping 401 names the reason and the fix, exit 1", async () => {
  const s = await stack({ serverArgs: ["--auth-tokens", join(dir, "tokens")] });
  const bad = await doctor({ ...s.env, GOMA_HTTP_AUTHORIZATION_FILE: join(dir, "wrong") }, ["--no-compile"]);
  assert.equal(bad.code, 1);
  const ping = check(bad, "server.ping");
  assert.equal(ping.status, "fail");
  assert.match(ping.evidence, /401 auth failed: unknown token/);
  assert.match(ping.fix!, /refuses the token from GOMA_HTTP_AUTHORIZATION_FILE .*wrong: run goma auth info/);
  assert.equal(check(bad, "backend").status, "skip");
  const none = await doctor(s.env, ["--no-compile"]);
  assert.match(check(none, "server.ping").fix!, /the server requires a token: .*goma auth login/);
  const good = await doctor({ ...s.env, GOMA_HTTP_AUTHORIZATION_FILE: join(dir, "right") }, ["--no-compile"]);
  assert.equal(check(good, "server.ping").status, "pass");
  assert.match(check(good, "auth.server").evidence, /the server says you are "alice" \(tokens-file\)/);
  assert.equal(check(good, "backend.action").status, "pass", "the backend endpoint is reached with the token");
});

test("a stopped proxy: named with goma proxy start, and the real compile is skipped", async () => {
  const s = await stack({ proxy: false });
  const d = await doctor(s.env);
  const p = check(d, "proxy.socket");
  assert.equal(p.status, "fail");
  assert.match(p.evidence, /no goma proxy answers on .*goma\.ipc/);
  assert.match(p.fix!, /goma proxy start/);
  assert.equal(check(d, "compile").status, "skip");
  assert.equal(d.code, 1);
});

test("an auth file path with ~ that does not exist: warned about ~, failed with ENOENT and the fix", async () => {
  const s = await stack({ proxy: false });
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const d = await doctor({ ...s.env, HOME: home, GOMA_HTTP_AUTHORIZATION_FILE: "~/.goma/token" }, ["--no-compile"]);
  const tilde = check(d, "auth.tilde");
  assert.equal(tilde.status, "warn");
  assert.match(tilde.fix!, new RegExp(`GOMA_HTTP_AUTHORIZATION_FILE=${home}/\\.goma/token`));
  const f = check(d, "auth.file");
  assert.equal(f.status, "fail");
  assert.match(f.evidence, /GOMA_HTTP_AUTHORIZATION_FILE "~\/\.goma\/token" \(.*\/home\/\.goma\/token\) cannot be read: ENOENT/);
  assert.match(f.fix!, /"Bearer <token>"/);
  assert.equal(check(d, "server.ping").status, "skip");
});

test("the dashboard port taken by another process: doctor names the process, and the proxy moves on", async () => {
  const s = await stack({ proxy: false });
  const port = await freePort();
  const holder = spawn(process.execPath, ["-e", `require("net").createServer().listen(${port}, "127.0.0.1", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(holder);
  await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
  const env = { ...s.env, GOMA_COMPILER_PROXY_PORT: String(port) };
  const before = await doctor(env, ["--no-compile"]);
  const dash = check(before, "proxy.dashboard");
  assert.equal(dash.status, "warn");
  assert.match(dash.evidence, new RegExp(`port ${port} is taken by pid ${holder.pid} \\(.*listen\\(${port}`));
  assert.match(dash.fix!, /GOMA_COMPILER_PROXY_PORT to a free port/);
  const p = await startProxyWith(s, { GOMA_COMPILER_PROXY_PORT: String(port) });
  try {
    const d = await doctor(env, ["--no-compile"]);
    assert.match(check(d, "proxy.dashboard").evidence, new RegExp(`port ${port} was taken by pid ${holder.pid} .*so the proxy serves its dashboard on ${port + 1}`));
  } finally {
    await p.stop();
  }
});

test("a platform the backend does not offer (OSFamily=Linux): doctor finds the one that works and names the flag", async () => {
  const a = await stack({ proxy: false });
  const addr = /backend: embedded at (127\.0\.0\.1:\d+)/.exec(a.serverLog())?.[1];
  assert.ok(addr, a.serverLog());
  // The embedded backend takes its server's credentials: here the user's local token.
  const token = ["--remoteexec-token-file", localTokenPath(process.env)];
  const b = await stack({ proxy: false, serverArgs: ["--remoteexec-addr", addr!, ...token, "--platform-property", "OSFamily=Linux"] });
  const d = await doctor(b.env, ["--no-compile"]);
  const p = check(d, "backend.platform");
  assert.equal(p.status, "fail");
  assert.match(p.evidence, /no worker for the server's platform \{OSFamily=Linux\}, but one for OSFamily=linux instead of Linux \{OSFamily=linux\}/);
  assert.match(p.fix!, /--platform-property OSFamily=linux/);
  const direct = await doctor(a.env, ["--no-compile", "--remoteexec-addr", addr!, ...token, "--platform-property", "OSFamily=linux", "--platform-property", "container-image=docker://x"]);
  const q = check(direct, "backend.platform");
  assert.match(q.evidence, /but one for without container-image \{OSFamily=linux\}/);
  assert.match(q.fix!, /--platform-property OSFamily=linux/);
});

test("an unreachable backend and a 502 from a proxy in between are named with their fixes", async () => {
  const s = await stack({ proxy: false });
  const nobody = await freePort();
  const d = await doctor(s.env, ["--no-compile", "--remoteexec-addr", `127.0.0.1:${nobody}`]);
  const r = check(d, "backend.reachable");
  assert.equal(r.status, "fail");
  assert.match(r.fix!, new RegExp(`nothing accepts connections at 127\\.0\\.0\\.1:${nobody}: start the backend`));
  const badGateway: Server = createServer((_req, res) => {
    res.writeHead(502);
    res.end("Bad Gateway");
  });
  await new Promise<void>((ok) => badGateway.listen(0, "127.0.0.1", () => ok()));
  try {
    const port = (badGateway.address() as { port: number }).port;
    const g = await doctor({ ...s.env, GOMA_SERVER_PORT: String(port), GOMACTL_USE_PROXY: "true" }, ["--no-compile"]);
    const ping = check(g, "server.ping");
    assert.match(ping.evidence, /: 502 Bad Gateway/);
    assert.match(ping.fix!, /GOMACTL_USE_PROXY=false/);
    assert.equal(check(g, "env.gomactl_proxy").status, "fail");
  } finally {
    badGateway.close();
  }
});

test("unknown GOMA_* variables and malformed booleans are named", async () => {
  const s = await stack({ proxy: false, server: false });
  const d = await doctor({ ...s.env, GOMA_USE_SLL: "true", GOMA_FALLBACK: "maybe" }, ["--no-compile"]);
  assert.match(check(d, "env.unknown").evidence, /GOMA_USE_SLL \(did you mean GOMA_USE_SSL\?\)/);
  const b = check(d, "env.bool");
  assert.equal(b.status, "fail");
  assert.match(b.evidence, /GOMA_FALLBACK="maybe" is not a boolean/);
  assert.match(check(d, "server.ping").fix!, /nothing listens there: start goma server/);
});

test("a TLS backend with a bearer token: doctor names an untrusted certificate, then missing credentials, then passes", async () => {
  const { makeCa, makeCert } = await import("../auth/pki.ts");
  const { startSecureBackend } = await import("../auth/secure-backend.ts");
  const pki = join(dir, "pki");
  mkdirSync(pki, { recursive: true });
  const ca = makeCa(pki, "ca");
  const srv = makeCert(pki, ca, "server", ["IP:127.0.0.1"]);
  const backend = await startSecureBackend({ dataDir: join(dir, "tls-backend"), tls: srv, token: () => "bb-jwt-1" });
  try {
    const s = await stack({ proxy: false, server: false });
    const base = ["--no-compile", "--remoteexec-addr", backend.address];
    const untrusted = check(await doctor(s.env, base), "backend.tls");
    assert.equal(untrusted.status, "fail");
    assert.match(untrusted.evidence, /a TCP connection to 127\.0\.0\.1:\d+ succeeds, so the plaintext handshake failed/);
    assert.match(untrusted.fix!, /the backend speaks TLS while goma speaks plaintext .*give --remoteexec-ca-cert/);
    const noCa = check(await doctor(s.env, [...base, "--remoteexec-tls-server-name", "localhost"]), "backend.tls");
    assert.match(noCa.fix!, /does not chain to the system roots \(give --remoteexec-ca-cert\)/);
    const noToken = check(await doctor(s.env, [...base, "--remoteexec-ca-cert", ca.cert]), "backend.credentials");
    assert.equal(noToken.status, "fail");
    assert.match(noToken.evidence, /unauthenticated: missing authorization metadata/);
    assert.match(noToken.fix!, /--remoteexec-token-file/);
    writeFileSync(join(dir, "bbtoken"), "bb-jwt-1\n");
    const ok = await doctor(s.env, [...base, "--remoteexec-ca-cert", ca.cert, "--remoteexec-token-file", join(dir, "bbtoken")]);
    assert.match(check(ok, "backend.reachable").evidence, /ok in \d+ ms, TLS, bearer token accepted/);
    assert.equal(check(ok, "backend.action").status, "pass");
  } finally {
    await backend.close();
  }
});

test("a server whose actions run without a sandbox: doctor warns and names the fix", async () => {
  const s = await stack({ proxy: false, serverArgs: ["--exec-sandbox", "off"] });
  const d = await doctor(s.env, ["--no-compile"]);
  const sb = check(d, "backend.sandbox");
  assert.equal(sb.status, "warn");
  assert.match(sb.evidence, /actions run without a sandbox: turned off \(--exec-sandbox off\)/);
  assert.match(sb.fix!, /apt-get install bubblewrap/);
  assert.match(s.serverLog(), /goma server sandbox: none: turned off/);
});

test("a compiler under /tmp: doctor warns that the sandbox has a private /tmp, and the compile's fallback reason says so", async () => {
  // A clang unpacked under /tmp (the binary copied: a symlink to /usr/bin would be run by its target),
  // its directory declared a worker directory, the project outside /tmp (else the compiler is an input).
  const tc = mkdtempSync(join(tmpdir(), "goma-doctor-tc-"));
  const proj = mkdtempSync("/var/tmp/goma-doctor-proj-");
  try {
    mkdirSync(join(tc, "bin"));
    copyFileSync("/usr/lib/llvm-14/bin/clang", join(tc, "bin", "clang"));
    chmodSync(join(tc, "bin", "clang"), 0o755);
    const prefixes = ["/usr/", "/lib/", "/lib64/", "/bin/", "/etc/", `${tc}/`];
    const s = await stack({ serverArgs: prefixes.flatMap((p) => ["--env-prefix", p]) });
    const env = { ...s.env, PATH: `${join(tc, "bin")}:${process.env.PATH}` };
    const d = await doctor(env, ["--no-compile"]);
    const w = check(d, "proxy.compiler.clang.sandbox");
    assert.equal(w.status, "warn");
    assert.equal(w.evidence, `${join(tc, "bin", "clang")} is under /tmp: the sandbox gives each action a private /tmp, so remote compiles with it find no compiler and run locally`);
    assert.match(w.fix!, /install the toolchain outside \/tmp, or run goma server with --exec-sandbox off on a trusted machine/);
    assert.equal(d.byId.has("proxy.compiler.gcc.sandbox"), false, "/usr/bin/gcc is visible in the sandbox");
    const given = await doctor(s.env, ["--no-compile", "--compiler", join(tc, "bin", "clang")]);
    assert.match(check(given, "proxy.compiler.clang").evidence, new RegExp(`^${join(tc, "bin", "clang")}: [\\d.]+\\[.*clang version`));
    assert.equal(check(given, "proxy.compiler.clang.sandbox").evidence, w.evidence, "--compiler: the one given is checked");

    writeFileSync(join(proj, "a.c"), "int a(void) { return 1; }\n");
    const r = await run([gomaBin(), "cc", join(tc, "bin", "clang"), "-c", "a.c", "-o", "a.o"], { env: s.env, cwd: proj });
    assert.equal(r.code, 0, r.stderr);
    const t = (await s.tasks()).find((x) => x.cwd === proj);
    assert.equal(t?.outcome, "localFallback");
    assert.match(t?.reason ?? "", new RegExp(`the compiler ${join(tc, "bin", "clang")} cannot run in the embedded backend's sandbox: bubblewrap has a private /tmp; install the toolchain outside /tmp, or run goma server with --exec-sandbox off on a trusted machine`));
  } finally {
    rmSync(tc, { recursive: true, force: true });
    rmSync(proj, { recursive: true, force: true });
  }
});
