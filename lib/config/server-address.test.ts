import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAddressFromEnv, serverBaseUrl } from "./server-address.ts";

test("serverAddressFromEnv() reads GOMA_* like the real client", () => {
  const c = serverAddressFromEnv({ GOMA_SERVER_HOST: "h", GOMA_SERVER_PORT: "81", GOMA_USE_SSL: "false" });
  assert.deepEqual([c.host, c.port, c.useSsl], ["h", 81, false]);
  assert.equal(serverBaseUrl(c), "http://h:81/cxx-compiler-service");
});

test("serverAddressFromEnv() defaults to 127.0.0.1:5050, and to port 443 with GOMA_USE_SSL in any spelling", () => {
  assert.deepEqual(serverAddressFromEnv({}), {
    host: "127.0.0.1", port: 5050, useSsl: false, pathPrefix: "/cxx-compiler-service", extraParams: "", compressionLevel: 3,
  });
  for (const v of ["1", "t", "true", "y", "yes", "on", "ON"]) assert.equal(serverAddressFromEnv({ GOMA_USE_SSL: v }).port, 443, v);
  for (const v of ["0", "f", "false", "n", "no", "off", ""]) assert.equal(serverAddressFromEnv({ GOMA_USE_SSL: v }).port, 5050, v);
  const c = serverAddressFromEnv({ GOMA_URL_PATH_PREFIX: "/p", GOMA_RPC_EXTRA_PARAMS: "?x=1", GOMA_HTTP_RPC_COMPRESSION_LEVEL: "0" });
  assert.deepEqual([c.pathPrefix, c.extraParams, c.compressionLevel], ["/p", "?x=1", 0]);
});

test("serverAddressFromEnv() refuses a malformed boolean, port or compression level with one line naming the variable", () => {
  assert.throws(() => serverAddressFromEnv({ GOMA_USE_SSL: "maybe" }), { message: '[invalid_argument] GOMA_USE_SSL must be true or false, got "maybe"' });
  assert.throws(() => serverAddressFromEnv({ GOMA_SERVER_PORT: "http" }), { message: '[invalid_argument] GOMA_SERVER_PORT must be a port number, got "http"' });
  assert.throws(() => serverAddressFromEnv({ GOMA_SERVER_PORT: "70000" }), /GOMA_SERVER_PORT must be a port number, got "70000"/);
  assert.throws(() => serverAddressFromEnv({ GOMA_SERVER_PORT: "0" }), /GOMA_SERVER_PORT must be a port number, got "0"/);
  assert.throws(() => serverAddressFromEnv({ GOMA_HTTP_RPC_COMPRESSION_LEVEL: "max" }), /GOMA_HTTP_RPC_COMPRESSION_LEVEL must be a whole number from 0 to 9, got "max"/);
});
