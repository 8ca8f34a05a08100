import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { ClientAuthorizationProvider, expandUserPath, resolveClientAuthorization } from "./client-auth.ts";

// The one reader of GOMA_HTTP_AUTHORIZATION_FILE (lib/goma's HTTP client takes its result as a provider).

test("resolveClientAuthorization() reads GOMA_HTTP_AUTHORIZATION_FILE with ~ expanded, trailing whitespace stripped", () => {
  const home = mkdtempSync("/tmp/goma-home-");
  try {
    writeFileSync(`${home}/auth`, "Bearer abc\n");
    const a = resolveClientAuthorization({ HOME: home, XDG_CONFIG_HOME: home, GOMA_SERVER_HOST: "h", GOMA_HTTP_AUTHORIZATION_FILE: "~/auth" });
    assert.deepEqual(a, { source: "GOMA_HTTP_AUTHORIZATION_FILE", rawPath: "~/auth", path: `${home}/auth`, header: "Bearer abc" });
    assert.equal(expandUserPath("$HOME/x", { HOME: "/h" }), "/h/x");
    assert.equal(expandUserPath("${HOME}/x", { HOME: "/h" }), "/h/x");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("resolveClientAuthorization() answers an unreadable or multi-line file as an error, never a throw", () => {
  const home = mkdtempSync("/tmp/goma-home-");
  try {
    const missing = resolveClientAuthorization({ HOME: home, GOMA_HTTP_AUTHORIZATION_FILE: "~/nope" });
    assert.equal(missing.header, undefined);
    assert.match(missing.error ?? "", /^GOMA_HTTP_AUTHORIZATION_FILE "~\/nope" \(.*\/nope\) cannot be read: ENOENT/);
    writeFileSync(`${home}/two`, "Bearer a\nBearer b\n");
    assert.match(resolveClientAuthorization({ HOME: home, GOMA_HTTP_AUTHORIZATION_FILE: `${home}/two` }).error ?? "", /must hold one line/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("ClientAuthorizationProvider.get() re-reads the file after it changes", () => {
  const home = mkdtempSync("/tmp/goma-home-");
  try {
    writeFileSync(`${home}/auth`, "Bearer one\n");
    const p = new ClientAuthorizationProvider({ HOME: home, GOMA_HTTP_AUTHORIZATION_FILE: `${home}/auth` });
    assert.equal(p.get().header, "Bearer one");
    writeFileSync(`${home}/auth`, "Bearer two-longer\n");
    assert.equal(p.get().header, "Bearer two-longer");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
