import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authenticator, isLoopbackHost, parseTokensFile, unauthenticatedListenProblem, userAllowed } from "./server-auth.ts";
import { withAuth, AUTH_INFO_PATH } from "./http-auth.ts";
import { issueSignedToken } from "./signed-token.ts";

const dir = mkdtempSync(join(tmpdir(), "goma-auth-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tokens = join(dir, "tokens");
const secretFile = join(dir, "secret");
writeFileSync(tokens, "# team\ntok-alice-0001 alice\n\ntok-ci-0002 ci-bot\n");
writeFileSync(secretFile, "0123456789abcdef-secret-for-tests\n");
const secret = Buffer.from("0123456789abcdef-secret-for-tests");

test("Authenticator.check() names each failure without echoing the token", () => {
  const a = new Authenticator({ tokensFile: tokens, secretFile, nowMs: () => 2_000_000 });
  const reasons = [null, "tok-alice-0001", "Bearer", "Basic dXNlcjpwdw==", "Bearer wrong-token-value",
    `Bearer ${issueSignedToken(secret, "dave", { nowSec: 1_000, ttlSec: 10 })}`,
    `Bearer ${issueSignedToken(Buffer.from("another-secret-of-enough-bytes"), "eve", { nowSec: 1_000 })}`]
    .map((h) => a.check(h)).map((r) => (r.ok ? "ok" : r.reason));
  assert.match(reasons[0]!, /^missing Authorization header/);
  assert.match(reasons[1]!, /^malformed Authorization header: it must be "Bearer <token>", got a value without the "Bearer " prefix/);
  assert.match(reasons[2]!, /^malformed Authorization header: .*no token after it/);
  assert.match(reasons[3]!, /without the "Bearer " prefix/);
  assert.match(reasons[4]!, /^unknown token: it is not in the server's tokens file/);
  assert.match(reasons[5]!, /^expired token: the token of user "dave" expired at 1970-01-01T00:16:50.000Z/);
  assert.match(reasons[6]!, /^unknown token: its signature matches none of the server's secrets/);
  for (const r of reasons) assert.doesNotMatch(r, /tok-alice|wrong-token|dXNlcjpwdw/);
});

test("Authenticator.check() accepts listed and signed tokens and applies --allowed-users", () => {
  const a = new Authenticator({ tokensFile: tokens, secretFile, allowedUsers: ["alice", "*@example.com"], nowMs: () => 2_000_000 });
  assert.deepEqual(a.check("Bearer tok-alice-0001"), { ok: true, user: "alice", source: "tokens-file" });
  assert.deepEqual(a.check("bearer   tok-alice-0001  "), { ok: true, user: "alice", source: "tokens-file" });
  const signed = a.check(`Bearer ${issueSignedToken(secret, "fay@example.com", { nowSec: 1_000, ttlSec: 10_000 })}`);
  assert.deepEqual(signed, { ok: true, user: "fay@example.com", source: "signed-token", expiresAt: 11_000 });
  const ci = a.check("Bearer tok-ci-0002");
  assert.equal(ci.ok, false);
  assert.equal(!ci.ok && ci.reason, 'user "ci-bot" is not allowed: the server\'s --allowed-users is alice,*@example.com');
});

test("Authenticator re-reads the tokens file when it changes and keeps the last good one when it breaks", () => {
  const f = join(dir, "tokens2");
  writeFileSync(f, "first-token-aaaa u1\n");
  const a = new Authenticator({ tokensFile: f });
  assert.equal(a.check("Bearer first-token-aaaa").ok, true);
  writeFileSync(join(dir, "tmp"), "second-token-bbbb u2\n");
  renameSync(join(dir, "tmp"), f);
  assert.equal(a.check("Bearer first-token-aaaa").ok, false);
  assert.deepEqual(a.check("Bearer second-token-bbbb"), { ok: true, user: "u2", source: "tokens-file" });
  writeFileSync(f, "a broken line with four fields\n");
  assert.deepEqual(a.check("Bearer second-token-bbbb"), { ok: true, user: "u2", source: "tokens-file" });
});

test("parseTokensFile() names the bad line, not its content", () => {
  assert.throws(() => parseTokensFile("ok-token user\nlonely-secret-token\n"), /^SyntaxError: Line 2 must be "<token> <user>", got 1 field\(s\)$/);
  assert.throws(() => parseTokensFile("t1 a\nt1 b\n"), /Line 2 repeats a token of user "a" for user "b"/);
  assert.throws(() => new Authenticator({ tokensFile: join(dir, "absent") }), /Failed to read the tokens file \(--auth-tokens\) ".*absent": ENOENT/);
});

test("userAllowed(), isLoopbackHost() and unauthenticatedListenProblem()", () => {
  assert.equal(userAllowed("x", []), true);
  assert.equal(userAllowed("a@b.com", ["*@b.com"]), true);
  assert.equal(userAllowed("a@evilb.com", ["*@b.com"]), false);
  assert.deepEqual(["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "0.0.0.0", "10.0.0.1", "::"].map(isLoopbackHost),
    [true, true, true, true, true, false, false, false]);
  assert.equal(unauthenticatedListenProblem("127.0.0.1", false, false), undefined);
  assert.equal(unauthenticatedListenProblem("0.0.0.0", true, false), undefined);
  assert.equal(unauthenticatedListenProblem("0.0.0.0", false, true), undefined);
  assert.match(unauthenticatedListenProblem("0.0.0.0", false, false)!, /refusing to listen on "0.0.0.0" without authentication.*--allow-unauthenticated/);
});

test("withAuth() guards /cxx-compiler-service and /api, answers auth/info, leaves /healthz open", async () => {
  const a = new Authenticator({ tokensFile: tokens });
  const counters = { authFailures: 0 };
  const h = withAuth(a, async () => new Response("inner"), counters);
  const get = (path: string, auth?: string) => h(new Request(`http://x${path}`, { headers: auth ? { authorization: auth } : {} }));
  assert.equal((await get("/healthz")).status, 200);
  const denied = await get("/cxx-compiler-service/ping");
  assert.equal(denied.status, 401);
  assert.match(await denied.text(), /^auth failed: missing Authorization header/);
  assert.equal((await get("/api/doctor/backend", "Bearer nope")).status, 401);
  assert.equal(await (await get("/cxx-compiler-service/ping", "Bearer tok-alice-0001")).text(), "inner");
  assert.deepEqual(await (await get(AUTH_INFO_PATH, "Bearer tok-ci-0002")).json(), { user: "ci-bot", source: "tokens-file", expiresAt: null });
  assert.equal(counters.authFailures, 2);
  const open = withAuth(undefined, async () => new Response("inner"));
  assert.deepEqual(await (await open(new Request(`http://x${AUTH_INFO_PATH}`))).json(), { user: null, auth: "disabled" });
});
