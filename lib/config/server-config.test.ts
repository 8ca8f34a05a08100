import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { cacheMaxSizeMib, defaultCacheDir, serverConfigFromFlags } from "./server-config.ts";
import { UsageError } from "../util/cli-args.ts";

const MIB = 1024 * 1024;

test("serverConfigFromFlags() gives remoteexec_proxy's defaults without flags", () => {
  const c = serverConfigFromFlags({}, [], { XDG_CACHE_HOME: "/xdg" });
  assert.deepEqual(c, {
    port: 5050, listen: "127.0.0.1", remoteexecAddr: undefined, remoteCacheAddr: undefined, reapiListen: undefined, commandPolicy: "toolchain", instanceName: "",
    buildbarnScheduler: undefined, insecure: false, platform: { OSFamily: "linux" }, envPrefixes: undefined, cacheDir: "/xdg/goma",
    cacheMaxBytes: 10240 * MIB, concurrency: availableParallelism(), maxRequestBytes: 64 * MIB, sandbox: "auto", logLevel: "info", inProcess: true,
    auth: { tokensFile: undefined, secretFile: undefined, allowedUsers: undefined, allowUnauthenticated: false },
    backendAuth: { tokenFile: undefined, serviceAccountJson: undefined, serviceAccountScope: undefined, caCert: undefined, clientCert: undefined, clientKey: undefined, tlsServerName: undefined },
  });
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "/xdg" }), "/xdg/goma");
});

test("serverConfigFromFlags() reads flags, repeatable flags from the raw command line, and GOMA_SERVER_CACHE_MAX_SIZE_MB", () => {
  const c = serverConfigFromFlags(
    { port: "0", listen: "0.0.0.0", "remoteexec-addr": "bb:8980", "remote-instance-name": "i", "cache-dir": "/c", "exec-concurrency": "3",
      "exec-sandbox": "off", "exec-commands": "any", "allowed-users": "a, b,", "auth-tokens": "/tok", "platform-container-image": "img" },
    ["--platform-property", "OSFamily=Linux", "--env-prefix", "/opt", "--env-prefix=/usr/"],
    { GOMA_SERVER_CACHE_MAX_SIZE_MB: "0", GOMA_LOG_LEVEL: "Debug" },
  );
  assert.equal(c.logLevel, "debug");
  assert.deepEqual([c.port, c.listen, c.remoteexecAddr, c.instanceName, c.cacheDir, c.concurrency, c.sandbox, c.commandPolicy],
    [0, "0.0.0.0", "bb:8980", "i", "/c", 3, "off", "any"]);
  assert.deepEqual(c.platform, { OSFamily: "Linux", "container-image": "img" });
  assert.deepEqual(c.envPrefixes, ["/opt/", "/usr/"]);
  assert.equal(c.cacheMaxBytes, 0);
  assert.deepEqual([c.auth?.allowedUsers, c.auth?.tokensFile], [["a", "b"], "/tok"]);
  // GOMA_SERVER_INPROC=false: the server reaches its embedded backend over loopback gRPC.
  assert.equal(serverConfigFromFlags({}, [], { GOMA_SERVER_INPROC: "false" }).inProcess, false);
  assert.equal(serverConfigFromFlags({}, [], { GOMA_SERVER_INPROC: "" }).inProcess, true);
  for (const [v, b] of [["off", false], ["0", false], ["on", true], ["1", true]] as const) {
    assert.equal(serverConfigFromFlags({}, [], { GOMA_SERVER_INPROC: v }).inProcess, b, v);
  }
  // The flag wins over the variable.
  assert.equal(serverConfigFromFlags({ "cache-max-size-mb": "2" }, [], { GOMA_SERVER_CACHE_MAX_SIZE_MB: "9" }).cacheMaxBytes, 2 * MIB);
});

test("serverConfigFromFlags() refuses a malformed value with one line naming the flag or variable", () => {
  const bad: [Record<string, unknown>, string[], Record<string, string>, string][] = [
    [{ port: "http" }, [], {}, '--port wants a whole number from 0 to 65535, got "http"'],
    [{ "cache-max-size-mb": "10G" }, [], {}, 'cache size limit must be a whole number of MiB (0: no limit), got "10G" (--cache-max-size-mb or GOMA_SERVER_CACHE_MAX_SIZE_MB)'],
    [{}, [], { GOMA_SERVER_CACHE_MAX_SIZE_MB: "-5" }, 'cache size limit must be a whole number of MiB (0: no limit), got "-5" (--cache-max-size-mb or GOMA_SERVER_CACHE_MAX_SIZE_MB)'],
    [{ "exec-sandbox": "maybe" }, [], {}, '--exec-sandbox must be auto, required or off, got "maybe"'],
    [{ "exec-commands": "all" }, [], {}, '--exec-commands must be toolchain or any, got "all"'],
    [{ "exec-concurrency": "0" }, [], {}, '--exec-concurrency wants a whole number from 1 to 4096, got "0"'],
    [{}, ["--platform-property", "novalue"], {}, '--platform-property wants KEY=VALUE, got "novalue"'],
    [{}, [], { GOMA_LOG_LEVEL: "verbose" }, 'GOMA_LOG_LEVEL must be error, warn, info or debug, got "verbose"'],
    [{}, [], { GOMA_SERVER_INPROC: "grpc" }, 'GOMA_SERVER_INPROC must be true or false, got "grpc"'],
  ];
  for (const [args, raw, env, message] of bad) {
    assert.throws(() => serverConfigFromFlags(args, raw, env), (e: unknown) => e instanceof UsageError && e.message === message, message);
  }
});

test("cacheMaxSizeMib() takes whole MiB, 0 for no limit, and defaults to 10 GiB", () => {
  assert.equal(cacheMaxSizeMib(undefined), 10240);
  assert.equal(cacheMaxSizeMib("2048"), 2048);
  assert.equal(cacheMaxSizeMib("0"), 0);
  assert.equal(typeof cacheMaxSizeMib("1.5"), "string");
});
