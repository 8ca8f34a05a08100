import { test } from "node:test";
import assert from "node:assert/strict";
import { issueSignedToken, newSecret, parseDuration, parseSecretFile, verifySignedToken, validateUserName } from "./signed-token.ts";

const secret = Buffer.from("0123456789abcdef-secret-for-tests");
const other = Buffer.from("fedcba9876543210-another-secret!!");

test("issueSignedToken() makes goma1.<payload>.<sig> that verifySignedToken() accepts", () => {
  const t = issueSignedToken(secret, "alice@example.com", { nowSec: 1_000, ttlSec: 60 });
  assert.match(t, /^goma1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const payload = JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString());
  assert.deepEqual(payload, { u: "alice@example.com", iat: 1_000, exp: 1_060 });
  assert.deepEqual(verifySignedToken(t, [secret], 1_059), { ok: true, claims: { user: "alice@example.com", issuedAt: 1_000, expiresAt: 1_060 } });
});

test("verifySignedToken() refuses expired tokens, other secrets, tampering and other formats", () => {
  const t = issueSignedToken(secret, "bob", { nowSec: 1_000, ttlSec: 60 });
  const exp = verifySignedToken(t, [secret], 1_060);
  assert.equal(exp.ok, false);
  assert.equal(!exp.ok && exp.problem.kind, "expired");
  const sig = verifySignedToken(t, [other], 1_000);
  assert.equal(!sig.ok && sig.problem.kind, "signature");
  const [p, , s] = t.split(".");
  const forged = `${p}.${Buffer.from(JSON.stringify({ u: "root", iat: 1_000 })).toString("base64url")}.${s}`;
  assert.equal((verifySignedToken(forged, [secret], 1_000) as { problem: { kind: string } }).problem.kind, "signature");
  assert.equal((verifySignedToken("abc", [secret], 1_000) as { problem: { kind: string } }).problem.kind, "malformed");
  assert.equal((verifySignedToken("goma1.a.b.c", [secret], 1_000) as { problem: { kind: string } }).problem.kind, "malformed");
});

test("verifySignedToken() accepts a token of any listed secret (rotation) and tokens without expiry", () => {
  const t = issueSignedToken(other, "carol", { nowSec: 5 });
  assert.deepEqual(verifySignedToken(t, [secret, other], 10 ** 10), { ok: true, claims: { user: "carol", issuedAt: 5, expiresAt: undefined } });
});

test("parseSecretFile() skips comments, keeps order and refuses short or absent secrets", () => {
  assert.deepEqual(parseSecretFile("# new first\nAAAAAAAAAAAAAAAAAAAA\n\nBBBBBBBBBBBBBBBBBBBB\n").map(String), ["AAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBB"]);
  assert.throws(() => parseSecretFile("short\n"), /Secret on line 1 must have at least 16 bytes, got 5/);
  assert.throws(() => parseSecretFile("# nothing\n"), /holds no secret/);
  assert.equal(newSecret().length, 43);
});

test("parseDuration() reads s, m, h, d, w and bare seconds", () => {
  assert.equal(parseDuration("30d"), 30 * 86400);
  assert.equal(parseDuration("12h"), 43200);
  assert.equal(parseDuration("90m"), 5400);
  assert.equal(parseDuration("2w"), 1209600);
  assert.equal(parseDuration("3600"), 3600);
  assert.throws(() => parseDuration("1y"), /Duration must be a number with an optional unit/);
  assert.throws(() => parseDuration("0d"), /must be positive/);
});

test("validateUserName() refuses empty names and odd characters", () => {
  validateUserName("a.b-c+d@e.f");
  assert.throws(() => validateUserName(""), /must not be empty/);
  assert.throws(() => validateUserName("a b"), /only letters, digits/);
});
