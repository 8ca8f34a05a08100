import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULTS, envBool, envNonNegative, envPort, gomaBool, isGomaBool, PROXY_VARS, SERVER_VARS, varsHelp } from "./goma-env.ts";

test("gomaBool() reads every Goma spelling of a boolean and nothing else", () => {
  for (const v of ["1", "t", "true", "TRUE", "y", "yes", "on", "On"]) assert.equal(gomaBool(v), true, v);
  for (const v of ["0", "f", "false", "n", "no", "off", "OFF"]) assert.equal(gomaBool(v), false, v);
  for (const v of [undefined, "", "maybe", "2", "enabled"]) assert.equal(gomaBool(v), undefined, String(v));
  assert.equal(isGomaBool("off"), true);
  assert.equal(isGomaBool("nope"), false);
});

test("varsHelp() lists each proxy variable once with its default", () => {
  const text = varsHelp();
  assert.equal(new Set(PROXY_VARS.map((v) => v.name)).size, PROXY_VARS.length);
  for (const v of PROXY_VARS) assert.match(text, new RegExp(`^  ${v.name} +\\S`, "m"));
  assert.match(text, /GOMA_SERVER_PORT +goma server's port \(default: 5050/);
});

test("varsHelp(SERVER_VARS) lists the server's variables with their defaults", () => {
  const text = varsHelp(SERVER_VARS);
  assert.equal(new Set(SERVER_VARS.map((v) => v.name)).size, SERVER_VARS.length);
  assert.match(text, /GOMA_SERVER_CACHE_MAX_SIZE_MB +embedded backend: .*\(default: 10240\)/);
  assert.match(text, /GOMA_SERVER_INPROC +embedded backend: .*\(default: true\)/);
});

test("the variable tables show the defaults the config builders use (DEFAULTS)", () => {
  const byName = new Map(PROXY_VARS.map((v) => [v.name, v.default]));
  assert.equal(byName.get("GOMA_COMPILER_PROXY_PORT"), String(DEFAULTS.dashboardPort));
  assert.equal(byName.get("GOMA_CACHE_DIR"), `$GOMA_TMP_DIR/${DEFAULTS.cacheDirName}`);
  assert.equal(byName.get("GOMA_COMPILER_PROXY_SOCKET_NAME"), DEFAULTS.socketName);
  assert.equal(byName.get("GOMA_HTTP_RPC_COMPRESSION_LEVEL"), String(DEFAULTS.compressionLevel));
});

test("envBool() reads Goma's spellings and refuses anything else with one line", () => {
  assert.equal(envBool({ X: "on" }, "X", false), true);
  assert.equal(envBool({ X: "OFF" }, "X", true), false);
  assert.equal(envBool({ X: "" }, "X", true), true);
  assert.equal(envBool({}, "X", false), false);
  assert.throws(() => envBool({ X: "yup" }, "X", false), { code: 3, rawMessage: 'X must be true or false, got "yup"' });
});

test("envPort() and envNonNegative() refuse what is not a port or a non-negative number", () => {
  assert.equal(envPort({ P: "0" }, "P", 8088, 0), 0);
  assert.equal(envPort({}, "P", 8088), 8088);
  assert.throws(() => envPort({ P: "0" }, "P", 8088), { rawMessage: 'P must be a port number, got "0"' });
  assert.throws(() => envPort({ P: "1.5" }, "P", 8088), { rawMessage: 'P must be a port number, got "1.5"' });
  assert.equal(envNonNegative({ N: "2.5" }, "N", 1), 2.5);
  assert.throws(() => envNonNegative({ N: "-1" }, "N", 1), { rawMessage: "N=-1 is not a non-negative number" });
});

test("every GOMA_* variable the config builders read is in a --help table", async () => {
  const { readFileSync, readdirSync } = await import("node:fs");
  const dir = new URL(".", import.meta.url).pathname;
  const listed = new Set([...PROXY_VARS, ...SERVER_VARS].map((v) => v.name));
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts") && n !== "goma-env.ts")) {
    const src = readFileSync(dir + f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    for (const [, name] of src.matchAll(/["'`.](GOMA_[A-Z_]+)\b/g)) {
      if (name!.endsWith("_")) continue; // a prefix, e.g. `GOMA_LOCAL_OUTPUT_CACHE_${name}`
      assert.ok(listed.has(name!), `${f} reads ${name}, which no table lists`);
    }
  }
});
