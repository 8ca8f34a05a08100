import { test } from "node:test";
import assert from "node:assert/strict";
import { serveHttp } from "../platform/serve.ts";
import { serveDashboard } from "./dashboard-server.ts";

const hello = async () => new Response("dashboard\n");

test("serveDashboard() serves on port 0 as any free port", async () => {
  const d = await serveDashboard(hello, 0);
  try {
    assert.ok(d.port > 0);
    assert.equal(await (await fetch(`http://127.0.0.1:${d.port}/`)).text(), "dashboard\n");
  } finally {
    await d.stop();
  }
});

test("serveDashboard() moves to the next port when GOMA_COMPILER_PROXY_PORT is taken", async () => {
  const taken = await serveHttp({ hostname: "127.0.0.1", port: 0, handler: async () => new Response("other\n") });
  let d;
  try {
    // The port above the taken one may itself be taken on a busy machine; the dashboard then goes further up.
    d = await serveDashboard(hello, taken.port);
    assert.ok(d.port > taken.port && d.port <= taken.port + 9, `port ${d.port}`);
    assert.equal(await (await fetch(`http://127.0.0.1:${d.port}/`)).text(), "dashboard\n");
  } finally {
    await d?.stop();
    await taken.stop();
  }
});
