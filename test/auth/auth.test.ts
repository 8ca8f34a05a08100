/**
 * Client ↔ server credentials end to end, with the real binary: a server with --auth-tokens and
 * --auth-secret, proxies with good, wrong, missing and `~` auth files, `goma auth` login/info/token/logout,
 * signed and expired tokens, --allowed-users, and the refusal to listen off loopback without auth.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync, statSync, readFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "../e2e/harness.ts";
import { startProxyWith } from "./proxy.ts";
import { issueSignedToken, parseSecretFile } from "../../lib/auth/signed-token.ts";

let stack: GomaStack;
let dir: string;
const goma = (args: string[], env: Record<string, string> = {}, stdin?: string) => run([gomaBin(), ...args], { env: { ...stack.env, ...env }, stdin, cwd: dir });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "goma-auth-e2e-"));
  writeFileSync(join(dir, "tokens"), "# users\ntok-alice-1234567 alice\ntok-bob-7654321 bob\n");
  const r = await run([gomaBin(), "auth", "new-secret", "--out", join(dir, "secret")]);
  assert.equal(r.code, 0, r.stderr);
  stack = await startStack({ proxy: false, serverArgs: ["--auth-tokens", join(dir, "tokens"), "--auth-secret", join(dir, "secret"), "--allowed-users", "alice,carol,dave"] });
  writeFileSync(join(dir, "a.c"), "int f(void) { return 42; }\n");
  writeFileSync(join(dir, "good"), "Bearer tok-alice-1234567\n");
  writeFileSync(join(dir, "wrong"), "Bearer tok-nobody\n");
  writeFileSync(join(dir, "nobearer"), "tok-alice-1234567\n");
  writeFileSync(join(dir, "bob"), "Bearer tok-bob-7654321\n");
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function compileWith(extra: Record<string, string>) {
  const p = await startProxyWith(stack, extra);
  try {
    const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "a.o"], { cwd: dir, env: p.env });
    assert.equal(r.code, 0, r.stderr);
    const [task] = await p.tasks();
    return { task: task!, stats: await p.stats() };
  } finally {
    await p.stop();
  }
}

test("a proxy with the right token compiles remotely; the server names the user", async () => {
  const { task } = await compileWith({ GOMA_HTTP_AUTHORIZATION_FILE: join(dir, "good") });
  assert.ok(task.outcome === "remote" || task.outcome === "cacheHit", JSON.stringify(task));
  const info = await goma(["auth", "info", "--json"], { GOMA_HTTP_AUTHORIZATION_FILE: join(dir, "good") });
  assert.equal(info.code, 0, info.stderr);
  assert.deepEqual(JSON.parse(info.stdout).user, "alice");
});

test("wrong, Bearer-less and not-allowed tokens get 401 with the reason, and compiles fall back locally", async () => {
  for (const [file, reason] of [["wrong", /unknown token/], ["nobearer", /without the "Bearer " prefix/], ["bob", /user "bob" is not allowed/]] as const) {
    const { task } = await compileWith({ GOMA_HTTP_AUTHORIZATION_FILE: join(dir, file) });
    assert.equal(task.outcome, "localFallback");
    assert.match(task.reason ?? "", /HTTP 401/);
    assert.match(task.reason ?? "", reason);
    const info = await goma(["auth", "info"], { GOMA_HTTP_AUTHORIZATION_FILE: join(dir, file) });
    assert.equal(info.code, 1);
    assert.match(info.stderr, reason);
  }
  const log = stack.serverLog();
  assert.match(log, /auth failed for POST \/cxx-compiler-service\/ping: unknown token/);
  assert.doesNotMatch(log, /tok-nobody|tok-alice|tok-bob/, "no token in the server's log");
});

test("a missing auth file with ~ does not stop the proxy: compiles run locally with the reason", async () => {
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const { task, stats } = await compileWith({ HOME: home, GOMA_HTTP_AUTHORIZATION_FILE: "~/.goma/missing-token" });
  assert.equal(task.outcome, "localFallback");
  assert.equal(task.reason, `GOMA_HTTP_AUTHORIZATION_FILE "~/.goma/missing-token" (${home}/.goma/missing-token) cannot be read: ENOENT`);
  assert.match(String(stats.health), /cannot be read: ENOENT/);
  assert.deepEqual(stats.auth, { source: "GOMA_HTTP_AUTHORIZATION_FILE", path: `${home}/.goma/missing-token`, error: task.reason });
});

test("goma auth issue → login → info → token → logout, with a signed token; an expired one is named as expired", async () => {
  const xdg = { XDG_CONFIG_HOME: join(dir, "xdg") };
  const issued = await goma(["auth", "issue", "--user", "carol", "--expires", "30d", "--secret", join(dir, "secret")]);
  assert.equal(issued.code, 0, issued.stderr);
  const token = issued.stdout.trim();
  assert.match(token, /^goma1\./);
  const login = await goma(["auth", "login"], xdg, token + "\n");
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /you are "carol" \(signed-token, expires 20/);
  const path = join(dir, "xdg", "goma", "token");
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, "utf8"), token + "\n");
  const info = await goma(["auth", "info"], xdg);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /2\. stored token \(goma auth login\): .*xdg\/goma\/token \(present\)  ← used/);
  assert.equal((await goma(["auth", "token"], xdg)).stdout.trim(), token);
  const { task } = await compileWith(xdg);
  assert.ok(task.outcome === "remote" || task.outcome === "cacheHit", JSON.stringify(task));

  const secret = parseSecretFile(readFileSync(join(dir, "secret"), "utf8"))[0]!;
  writeFileSync(join(dir, "expired"), `Bearer ${issueSignedToken(secret, "dave", { nowSec: 1_000_000, ttlSec: 60 })}\n`);
  const exp = await goma(["auth", "info"], { GOMA_HTTP_AUTHORIZATION_FILE: join(dir, "expired") });
  assert.equal(exp.code, 1);
  assert.match(exp.stderr, /expired token: the token of user "dave" expired at 1970-01-12T13:47:40.000Z/);

  assert.match((await goma(["auth", "logout"], xdg)).stdout, /removed .*xdg\/goma\/token/);
  const none = await goma(["auth", "token"], xdg);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no stored token/);
});

test("goma auth login --token-file reads the token from a file", async () => {
  const xdg = { XDG_CONFIG_HOME: join(dir, "xdg2") };
  writeFileSync(join(dir, "tokfile"), "Bearer tok-alice-1234567\n");
  const login = await goma(["auth", "login", "--token-file", join(dir, "tokfile")], xdg);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /you are "alice" \(tokens-file, no expiry\)/);
  assert.equal(readFileSync(join(dir, "xdg2", "goma", "token"), "utf8"), "tok-alice-1234567\n");
});

test("goma server refuses a non-loopback --listen without auth, and says how to fix it", async () => {
  const r = await run([gomaBin(), "server", "--listen", "0.0.0.0", "--port", "0", "--cache-dir", join(dir, "c")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to listen on "0.0.0.0" without authentication.*--auth-tokens FILE.*--allow-unauthenticated/s);
});

test("goma auth new-secret FILE writes the secret to FILE (0600), prints none of it, and never prints one onto a terminal", async () => {
  const f = join(dir, "positional-secret");
  const r = await run([gomaBin(), "auth", "new-secret", f]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  const secret = parseSecretFile(readFileSync(f, "utf8"))[0]!;
  assert.ok(!r.stdout.includes(Buffer.from(secret).toString("base64url").slice(0, 16)), r.stdout);
  assert.match(r.stdout, /wrote a new secret to .*positional-secret/);
  // Piped, it prints the secret (for `> file` or a secret manager); on a terminal it refuses.
  const piped = await run([gomaBin(), "auth", "new-secret"]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdout.trim(), /^[A-Za-z0-9_-]{43}$/);
  const tty = await run(["script", "-qec", `${gomaBin()} auth new-secret`, "/dev/null"]);
  assert.equal(tty.code, 2, tty.stdout);
  assert.match(tty.stdout, /name the FILE to write/);
  assert.doesNotMatch(tty.stdout, /[A-Za-z0-9_-]{43}/);
  // A second FILE is refused, not ignored, and nothing is written.
  const two = await run([gomaBin(), "auth", "new-secret", join(dir, "s-a"), join(dir, "s-b")]);
  assert.equal(two.code, 2, two.stderr);
  assert.equal(two.stderr.trim(), `goma auth new-secret: one FILE only (unexpected "${join(dir, "s-b")}"); see goma auth new-secret --help`);
  assert.ok(!existsSync(join(dir, "s-a")) && !existsSync(join(dir, "s-b")));
});
