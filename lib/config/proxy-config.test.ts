import { test } from "node:test";
import assert from "node:assert/strict";
import { compileSettings, localOutputCacheConfigFromEnv, proxyConfigFromEnv } from "./proxy-config.ts";
import { gomaCacheDir, proxySocketPath } from "./paths.ts";

const TRUE = ["1", "t", "true", "TRUE", "y", "yes", "on", "On"];
const FALSE = ["0", "f", "false", "FALSE", "n", "no", "off", "OFF"];

test("proxyConfigFromEnv() gives Goma's defaults for an empty environment", () => {
  const c = proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", USER: "u" });
  assert.deepEqual(c, {
    server: { host: "127.0.0.1", port: 5050, useSsl: false, pathPrefix: "/cxx-compiler-service", extraParams: "", compressionLevel: 3 },
    tmpDir: "/t",
    socketPath: "/t/goma.ipc",
    unreachedSpoolPath: "/t/goma_cc_unreached.jsonl",
    cacheDir: "/t/goma_cache",
    includeProbeCacheDir: "/t/goma_cache/include_probe",
    dashboardPort: 8088,
    includeProcessor: true,
    fallback: true,
    localOutputCache: undefined,
    userName: "u",
    logLevel: "info",
  });
});

test("proxyConfigFromEnv() reads GOMA_LOG_LEVEL (any case) and refuses another word with one line", () => {
  for (const [v, want] of [["error", "error"], ["WARN", "warn"], ["info", "info"], ["Debug", "debug"], ["", "info"]]) {
    assert.equal(proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", GOMA_LOG_LEVEL: v }).logLevel, want, v);
  }
  assert.throws(() => proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", GOMA_LOG_LEVEL: "verbose" }),
    { name: "GomaError", code: 3, rawMessage: 'GOMA_LOG_LEVEL must be error, warn, info or debug, got "verbose"' });
});

test("proxyConfigFromEnv() reads every GOMA_* it knows", () => {
  const c = proxyConfigFromEnv({
    GOMA_TMP_DIR: "/t", GOMA_CACHE_DIR: "/c", GOMA_COMPILER_PROXY_SOCKET_NAME: "/s/sock", GOMA_COMPILER_PROXY_PORT: "0",
    GOMA_SERVER_HOST: "h", GOMA_SERVER_PORT: "81", GOMA_USE_INCLUDE_PROCESSOR: "off", GOMA_FALLBACK: "no",
    GOMA_LOCAL_OUTPUT_CACHE_DIR: "/l", GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "3", GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS: "2",
    LOGNAME: "ln",
  });
  assert.deepEqual([c.cacheDir, c.includeProbeCacheDir, c.socketPath, c.dashboardPort], ["/c", "/c/include_probe", "/s/sock", 0]);
  assert.deepEqual([c.server.host, c.server.port, c.includeProcessor, c.fallback, c.userName], ["h", 81, false, false, "ln"]);
  assert.deepEqual(c.localOutputCache, { dir: "/l", limits: { maxBytes: 30720 * 1024 * 1024, thresholdBytes: 20480 * 1024 * 1024, maxItems: 3, thresholdItems: 2 } });
});

test("proxyConfigFromEnv() reads its booleans in every Goma spelling; empty is the default", () => {
  for (const v of TRUE) {
    const c = proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", GOMA_USE_INCLUDE_PROCESSOR: v, GOMA_FALLBACK: v, GOMA_USE_SSL: v });
    assert.deepEqual([c.includeProcessor, c.fallback, c.server.useSsl, c.server.port], [true, true, true, 443], v);
  }
  for (const v of FALSE) {
    const c = proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", GOMA_USE_INCLUDE_PROCESSOR: v, GOMA_FALLBACK: v, GOMA_USE_SSL: v });
    assert.deepEqual([c.includeProcessor, c.fallback, c.server.useSsl, c.server.port], [false, false, false, 5050], v);
  }
  const c = proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", GOMA_USE_INCLUDE_PROCESSOR: "", GOMA_FALLBACK: "" });
  assert.deepEqual([c.includeProcessor, c.fallback], [true, true]);
});

test("proxyConfigFromEnv() refuses a malformed value with one line naming the variable", () => {
  const bad: [Record<string, string>, string][] = [
    [{ GOMA_FALLBACK: "maybe" }, 'GOMA_FALLBACK must be true or false, got "maybe"'],
    [{ GOMA_USE_INCLUDE_PROCESSOR: "2" }, 'GOMA_USE_INCLUDE_PROCESSOR must be true or false, got "2"'],
    [{ GOMA_USE_SSL: "enabled" }, 'GOMA_USE_SSL must be true or false, got "enabled"'],
    [{ GOMA_SERVER_PORT: "5050x" }, 'GOMA_SERVER_PORT must be a port number, got "5050x"'],
    [{ GOMA_COMPILER_PROXY_PORT: "-1" }, 'GOMA_COMPILER_PROXY_PORT must be a port number, got "-1"'],
    [{ GOMA_LOCAL_OUTPUT_CACHE_DIR: "/l", GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "lots" }, "GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS=lots is not a non-negative number"],
    [{ GOMA_LOCAL_OUTPUT_CACHE_DIR: "/l", GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "10" }, "GOMA_LOCAL_OUTPUT_CACHE_THRESHOLD_ITEMS is above GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS"],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => proxyConfigFromEnv({ GOMA_TMP_DIR: "/t", ...env }), { name: "GomaError", code: 3, rawMessage: message }, message);
  }
});

test("localOutputCacheConfigFromEnv() is off when the directory is unset or empty, whatever the limits say", () => {
  assert.equal(localOutputCacheConfigFromEnv({}), undefined);
  assert.equal(localOutputCacheConfigFromEnv({ GOMA_LOCAL_OUTPUT_CACHE_DIR: "", GOMA_LOCAL_OUTPUT_CACHE_MAX_ITEMS: "lots" }), undefined);
});

test("gomaCacheDir() and proxySocketPath() share GOMA_TMP_DIR's default (the doctor's cache is the proxy's)", () => {
  const env = { GOMA_TMP_DIR: "/x" };
  assert.equal(gomaCacheDir(env), proxyConfigFromEnv(env).cacheDir);
  assert.equal(proxySocketPath(env), proxyConfigFromEnv(env).socketPath);
  assert.equal(gomaCacheDir({ GOMA_TMP_DIR: "/x", GOMA_CACHE_DIR: "/y" }), "/y");
});

test("compileSettings() reads a compile's GOMA_FALLBACK, GOMA_STORE_ONLY and GOMA_USE_SUCCESS in every spelling", () => {
  for (const v of TRUE) {
    assert.deepEqual(compileSettings({ GOMA_FALLBACK: v, GOMA_STORE_ONLY: v, GOMA_USE_SUCCESS: v }, false), { fallback: true, storeOnly: true, useSuccess: true }, v);
  }
  for (const v of FALSE) {
    assert.deepEqual(compileSettings({ GOMA_FALLBACK: v, GOMA_STORE_ONLY: v, GOMA_USE_SUCCESS: v }, true), { fallback: false, storeOnly: false, useSuccess: false }, v);
  }
});

test("compileSettings() falls back to the proxy's GOMA_FALLBACK when the compile's is unset or not a boolean", () => {
  assert.equal(compileSettings({}, false).fallback, false);
  assert.equal(compileSettings({}).fallback, true);
  assert.equal(compileSettings({ GOMA_FALLBACK: "maybe" }, false).fallback, false);
  assert.deepEqual(compileSettings({ GOMA_STORE_ONLY: "maybe" }), { fallback: true, storeOnly: false, useSuccess: false });
});
