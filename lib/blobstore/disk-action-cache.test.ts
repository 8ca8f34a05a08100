import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf } from "../digest/digest.ts";
import { DiskActionCache } from "./disk-action-cache.ts";

describe("DiskActionCache", () => {
  let dir: string;
  let ac: DiskActionCache;
  const action = digestOf(new TextEncoder().encode("some action"));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "goma-ac-"));
    ac = await DiskActionCache.open(join(dir, "ac"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("put() then get() round-trips, keyed by instance name", async () => {
    assert.equal(await ac.get("", action), undefined);
    await ac.put("", action, { exitCode: 0, stdoutRaw: new TextEncoder().encode("hi") });
    await ac.put("hardlinking", action, { exitCode: 7 });
    assert.equal((await ac.get("", action))!.exitCode, 0);
    assert.equal(Buffer.from((await ac.get("", action))!.stdoutRaw!).toString(), "hi");
    assert.equal((await ac.get("hardlinking", action))!.exitCode, 7);
    assert.equal(await ac.get("other/name", action), undefined);
  });

  test("put() replaces an entry; a corrupt entry is a miss", async () => {
    await ac.put("x", action, { exitCode: 1 });
    await ac.put("x", action, { exitCode: 2 });
    assert.equal((await ac.get("x", action))!.exitCode, 2);
    await writeFile(ac.pathOf("x", action), Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(await ac.get("x", action), undefined);
  });

  test("an entry with one flipped byte that still decodes is a miss, not a changed result", async () => {
    const d = digestOf(new TextEncoder().encode("flipped action"));
    const digest = digestOf(new TextEncoder().encode("object"));
    await ac.put("", d, { exitCode: 0, outputFiles: [{ path: "src/f0066.o", digest }] });
    const path = ac.pathOf("", d);
    const data = await readFile(path);
    const at = data.indexOf(Buffer.from("f0066"));
    assert.ok(at > 0);
    data[at + 2] = "p".charCodeAt(0); // src/f0p66.o: still a valid ActionResult
    await writeFile(path, data);
    const before = ac.corruptEntries;
    assert.equal(await ac.get("", d), undefined);
    assert.equal(ac.corruptEntries, before + 1);
  });
});
