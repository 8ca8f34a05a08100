import { test } from "node:test";
import assert from "node:assert/strict";
import { gomaBool, isGomaBool, PROXY_VARS, varsHelp } from "./goma-env.ts";

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
