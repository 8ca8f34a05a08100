import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskLog } from "./tasks.ts";
import { ingestUnreachedSpool } from "./unreached-spool.ts";

test("ingestUnreachedSpool() counts each spooled run once, skips torn lines, and removes the spool", () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-spool-"));
  try {
    const spool = join(dir, "goma_cc_unreached.jsonl");
    const run = { outcome: "unreachable", argv: ["gcc", "-c", "a.c"], cwd: "/s", pid: 7, ms: 12, exitCode: 0, at: 1, id: 99 };
    writeFileSync(spool, `${JSON.stringify(run)}\n{"torn\n\n${JSON.stringify({ ...run, outcome: "direct" })}\n`);
    const tasks = new TaskLog();
    assert.equal(ingestUnreachedSpool(spool, tasks), 2);
    assert.deepEqual([tasks.stats.unreachable, tasks.stats.direct], [1, 1]);
    assert.deepEqual(tasks.list().map((t) => t.argv), [["gcc", "-c", "a.c"], ["gcc", "-c", "a.c"]]);
    assert.equal(existsSync(spool), false);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(ingestUnreachedSpool(spool, tasks), 0, "nothing spooled since");
    assert.equal(tasks.stats.unreachable, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
