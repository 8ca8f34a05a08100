import { test } from "node:test";
import assert from "node:assert/strict";
import { envChecks, KNOWN_GOMA_VARIABLES } from "./local-checks.ts";
import { PROXY_VARS, SERVER_VARS } from "../config/goma-env.ts";

test("KNOWN_GOMA_VARIABLES holds every variable of the proxy's and the server's tables", () => {
  for (const v of [...PROXY_VARS, ...SERVER_VARS]) if (v.name.startsWith("GOMA_")) assert.ok(KNOWN_GOMA_VARIABLES.includes(v.name), v.name);
});

test("envChecks() does not report the server's GOMA_SERVER_CACHE_MAX_SIZE_MB as unknown", () => {
  const unknown = envChecks({ GOMA_SERVER_CACHE_MAX_SIZE_MB: "100", GOMA_USE_SLL: "true" }).find((c) => c.id === "env.unknown");
  assert.ok(unknown);
  assert.doesNotMatch(JSON.stringify(unknown), /GOMA_SERVER_CACHE_MAX_SIZE_MB/);
  assert.match(JSON.stringify(unknown), /GOMA_USE_SLL/);
});
