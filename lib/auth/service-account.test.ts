import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceAccountTokenSource, parseServiceAccountKey, REFRESH_BEFORE_MS } from "./service-account.ts";

test("ServiceAccountTokenSource refreshes shortly before expiry and reports the endpoint's error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-sa-"));
  let n = 0;
  let fail = false;
  const srv = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (fail) {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: "invalid_grant", error_description: "Invalid JWT Signature." }));
      }
      n++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: `tok-${n}`, expires_in: 600 }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  try {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const uri = `http://127.0.0.1:${(srv.address() as { port: number }).port}/token`;
    writeFileSync(join(dir, "sa.json"), JSON.stringify({ client_email: "a@b", token_uri: uri, private_key: privateKey.export({ type: "pkcs8", format: "pem" }) }));
    let now = 1_000_000;
    const sa = new ServiceAccountTokenSource({ jsonPath: join(dir, "sa.json"), nowMs: () => now });
    assert.equal(sa.token(), undefined, "nothing before the first fetch");
    await sa.ready();
    assert.equal(sa.token(), "tok-1");
    now += 600_000 - REFRESH_BEFORE_MS - 1;
    assert.equal(sa.token(), "tok-1", "still fresh");
    assert.equal(n, 1);
    now += 2;
    assert.equal(sa.token(), "tok-1", "the old one is served while the refresh runs");
    await sa.refresh();
    assert.equal(sa.token(), "tok-2");
    fail = true;
    await assert.rejects(sa.refresh(), /HTTP 400 invalid_grant: Invalid JWT Signature\./);
    assert.match(sa.lastError ?? "", /^Failed to get an access token for a@b from "http:\/\/127\.0\.0\.1:\d+\/token": HTTP 400/);
    assert.equal(sa.token(), "tok-2", "the valid token is kept");
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("parseServiceAccountKey() names the missing field", () => {
  assert.throws(() => parseServiceAccountKey('{"client_email":"a"}'), /lacks "private_key"/);
  assert.throws(() => parseServiceAccountKey("nope"), /is not JSON/);
});
