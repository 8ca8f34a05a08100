import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureLocalToken, localTokenPath, readLocalToken } from "./local-token.ts";
import { resolveClientAuthorization } from "./client-auth.ts";

const dir = mkdtempSync(join(tmpdir(), "goma-local-token-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("ensureLocalToken() creates a 0600 token once and then reuses it; a too-open file is tightened, a symlink refused", () => {
  const env = { XDG_CONFIG_HOME: join(dir, "xdg") };
  const path = localTokenPath(env);
  assert.equal(path, join(dir, "xdg", "goma", "local-token"));
  const t = ensureLocalToken(path);
  assert.match(t, /^[0-9a-f]{64}$/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(ensureLocalToken(path), t);
  assert.equal(readLocalToken(path), t);
  chmodSync(path, 0o644);
  assert.equal(ensureLocalToken(path), t);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const link = join(dir, "link-token");
  symlinkSync(path, link);
  assert.throws(() => ensureLocalToken(link), /cannot use the local token .*link-token": it is not a regular file/);
  writeFileSync(join(dir, "garbage"), "not a token\n");
  assert.throws(() => ensureLocalToken(join(dir, "garbage")), /does not hold a goma local token/);
});

test("the client sends the local token only to a loopback server, after the env file and the stored token", () => {
  const env = { XDG_CONFIG_HOME: join(dir, "client") };
  assert.equal(resolveClientAuthorization(env).source, "none");
  const t = ensureLocalToken(localTokenPath(env));
  assert.deepEqual(resolveClientAuthorization(env), { source: "local token", path: localTokenPath(env), header: `Bearer ${t}` });
  assert.equal(resolveClientAuthorization({ ...env, GOMA_SERVER_HOST: "localhost" }).source, "local token");
  assert.equal(resolveClientAuthorization({ ...env, GOMA_SERVER_HOST: "build.example.com" }).source, "none");
  writeFileSync(join(dir, "client", "goma", "token"), "stored-one\n");
  assert.equal(resolveClientAuthorization(env).header, "Bearer stored-one");
  assert.equal(readFileSync(localTokenPath(env), "utf8").trim(), t);
});
