import { test } from "node:test";
import assert from "node:assert/strict";
import { secureChannel, targetHost } from "./tls-credentials.ts";

test("targetHost() strips schemes, ports and IPv6 brackets", () => {
  assert.deepEqual(["dns:///10.0.0.5:8980", "bb.example:443", "[::1]:8980", "ipv4:127.0.0.1:1"].map(targetHost), ["10.0.0.5", "bb.example", "::1", "127.0.0.1"]);
});

test("secureChannel() overrides the server name for IP targets and when asked, and refuses half an mTLS pair", () => {
  assert.equal(secureChannel("127.0.0.1:1", {}).options["grpc.ssl_target_name_override"], "ip-address-target.invalid");
  assert.equal(secureChannel("bb.example:1", {}).options["grpc.ssl_target_name_override"], undefined);
  assert.equal(secureChannel("127.0.0.1:1", { serverName: "bb.internal" }).options["grpc.ssl_target_name_override"], "bb.internal");
  assert.equal(secureChannel("bb.example:1", { serverName: "10.1.2.3" }).options["grpc.ssl_target_name_override"], "ip-address-target.invalid");
  assert.throws(() => secureChannel("h:1", { certPem: Buffer.from("x") }), /needs its key/);
});
