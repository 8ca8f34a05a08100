/**
 * goma server ↔ REAPI backend credentials with real processes: the compiled `goma server` talks to a
 * grpc-js backend (the embedded services) that requires TLS with a CA made here, a client certificate
 * (mTLS) and a bearer token; the token and the client certificate are rotated on disk; a service account
 * gets its access token from a local OAuth2 token endpoint that verifies the RS256 assertion.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createVerify, generateKeyPairSync } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "../e2e/harness.ts";
import { makeCa, makeCert, type CertFiles } from "./pki.ts";
import { startSecureBackend, type SecureBackend } from "./secure-backend.ts";

let dir: string;
let ca: CertFiles;
let otherCa: CertFiles;
let backend: SecureBackend;
let wanted = "jwt-token-one";
const stacks: GomaStack[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "goma-backend-creds-"));
  ca = makeCa(dir, "ca");
  otherCa = makeCa(dir, "otherca");
  const srv = makeCert(dir, ca, "server", ["IP:127.0.0.1", "DNS:localhost"]);
  makeCert(dir, ca, "client");
  makeCert(dir, otherCa, "rogue-client");
  backend = await startSecureBackend({ dataDir: join(dir, "backend"), tls: { ...srv, clientCa: ca.cert }, token: () => wanted });
  writeFileSync(join(dir, "a.c"), "int a(void) { return 1; }\n");
  writeFileSync(join(dir, "b.c"), "int b(void) { return 2; }\n");
  writeFileSync(join(dir, "c.c"), "int c(void) { return 3; }\n");
  writeFileSync(join(dir, "d.c"), "int d(void) { return 4; }\n");
});

after(async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function stackWith(args: string[]): Promise<GomaStack> {
  const s = await startStack({ serverArgs: ["--remoteexec-addr", backend.address, ...args] });
  stacks.push(s);
  return s;
}

/** Compiles `src` through the stack; returns the task's outcome and reason. */
async function compile(s: GomaStack, src: string): Promise<{ outcome?: string; reason?: string }> {
  const r = await run([gomaBin(), "cc", "gcc", "-c", src, "-o", src.replace(/\.c$/, ".o")], { cwd: dir, env: s.env });
  assert.equal(r.code, 0, r.stderr);
  const tasks = (await (await fetch(`http://127.0.0.1:${s.dashboardPort}/api/tasks`)).json()) as { outcome?: string; reason?: string }[];
  return tasks[0]!;
}

const client = () => ["--remoteexec-client-cert", join(dir, "client.pem"), "--remoteexec-client-key", join(dir, "client.key")];

test("TLS with a custom CA, mTLS and a bearer token file: compiles go remote; a rotated token file is used at once", async () => {
  writeFileSync(join(dir, "token"), "jwt-token-one\n");
  const s = await stackWith(["--remoteexec-ca-cert", ca.cert, ...client(), "--remoteexec-token-file", join(dir, "token")]);
  assert.equal((await compile(s, "a.c")).outcome, "remote");
  wanted = "jwt-token-two";
  const refused = await compile(s, "b.c");
  assert.equal(refused.outcome, "localFallback");
  assert.match(refused.reason ?? "", /invalid bearer token/);
  writeFileSync(join(dir, "token.new"), "Bearer jwt-token-two\n");
  renameSync(join(dir, "token.new"), join(dir, "token"));
  assert.equal((await compile(s, "c.c")).outcome, "remote");
  assert.ok(backend.seenTokens.includes("jwt-token-two"));
  assert.doesNotMatch(s.serverLog(), /jwt-token/, "no token in the server's log");
});

test("a backend certificate from another CA, or no client certificate, fails with a reason naming TLS", async () => {
  writeFileSync(join(dir, "token2"), `${wanted}\n`);
  const wrongCa = await stackWith(["--remoteexec-ca-cert", otherCa.cert, ...client(), "--remoteexec-token-file", join(dir, "token2")]);
  const r1 = await compile(wrongCa, "a.c");
  assert.equal(r1.outcome, "localFallback");
  assert.match(r1.reason ?? "", /certificate/i);
  const noClient = await stackWith(["--remoteexec-ca-cert", ca.cert, "--remoteexec-token-file", join(dir, "token2")]);
  const r2 = await compile(noClient, "a.c");
  assert.equal(r2.outcome, "localFallback");
  assert.match(r2.reason ?? "", /REAPI 127\.0\.0\.1:\d+/);
});

test("a rotated client certificate is used by new calls: a rogue one is refused, the right one works again", async () => {
  const certs = join(dir, "rot");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(certs);
  copyFileSync(join(dir, "client.pem"), join(certs, "c.pem"));
  copyFileSync(join(dir, "client.key"), join(certs, "c.key"));
  writeFileSync(join(dir, "token3"), `${wanted}\n`);
  const s = await stackWith(["--remoteexec-ca-cert", ca.cert, "--remoteexec-client-cert", join(certs, "c.pem"),
    "--remoteexec-client-key", join(certs, "c.key"), "--remoteexec-token-file", join(dir, "token3")]);
  assert.equal((await compile(s, "d.c")).outcome, "remote");
  copyFileSync(join(dir, "rogue-client.pem"), join(certs, "c.pem"));
  copyFileSync(join(dir, "rogue-client.key"), join(certs, "c.key"));
  writeFileSync(join(dir, "d.c"), "int d(void) { return 5; }\n");
  assert.equal((await compile(s, "d.c")).outcome, "localFallback");
  copyFileSync(join(dir, "client.pem"), join(certs, "c.pem"));
  copyFileSync(join(dir, "client.key"), join(certs, "c.key"));
  writeFileSync(join(dir, "d.c"), "int d(void) { return 6; }\n");
  assert.equal((await compile(s, "d.c")).outcome, "remote");
});

test("--service-account-json: the server signs an RS256 assertion, gets an access token from token_uri and sends it", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const requests: { assertion: string; grant: string }[] = [];
  const tokenServer: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const assertion = form.get("assertion") ?? "";
      requests.push({ assertion, grant: form.get("grant_type") ?? "" });
      const [h, c, sig] = assertion.split(".");
      const ok = createVerify("RSA-SHA256").update(`${h}.${c}`).verify(publicKey, Buffer.from(sig ?? "", "base64url"));
      if (!ok) {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: "invalid_grant", error_description: "bad signature" }));
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "sa-access-token-1", expires_in: 3600, token_type: "Bearer" }));
    });
  });
  await new Promise<void>((r) => tokenServer.listen(0, "127.0.0.1", () => r()));
  const tokenUri = `http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/token`;
  try {
    writeFileSync(join(dir, "sa.json"), JSON.stringify({
      type: "service_account", client_email: "goma@test.iam.example", private_key_id: "k1", token_uri: tokenUri,
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
    }));
    wanted = "sa-access-token-1";
    const s = await stackWith(["--remoteexec-ca-cert", ca.cert, ...client(), "--service-account-json", join(dir, "sa.json")]);
    writeFileSync(join(dir, "a.c"), "int a(void) { return 7; }\n");
    assert.equal((await compile(s, "a.c")).outcome, "remote");
    assert.equal(requests[0]!.grant, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    const [h, c] = requests[0]!.assertion.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p!, "base64url").toString()));
    assert.deepEqual(h, { alg: "RS256", typ: "JWT", kid: "k1" });
    assert.equal(c.iss, "goma@test.iam.example");
    assert.equal(c.aud, tokenUri);
    assert.equal(c.scope, "https://www.googleapis.com/auth/cloud-build-service");
    assert.equal(c.exp - c.iat, 3600);
    assert.equal(requests.length, 1, "the access token is reused until shortly before it expires");
  } finally {
    tokenServer.close();
  }
});
