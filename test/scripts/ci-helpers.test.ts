/**
 * The fresh-machine helpers of `.ci/run` and `npm test`:
 * - scripts/test.sh defaults BB_RE_SOURCE to shared/vendor/ beside the clone (scripts/lib/bb-re-source.sh),
 *   so `npm test` alone installs Buildbarn from the vendored source where the module proxy refuses it, and
 *   keeps a BB_RE_SOURCE already set. Run on a copy of test.sh in a temp "clone" whose setup, build and bun
 *   are stubs (the stub bun prints the BB_RE_SOURCE it sees and a bun-style summary).
 * - scripts/check-clean-tree.sh (.ci/run's last step) is silent on a clean work tree and fails with one
 *   line naming the changed and untracked files otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function script(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

test("scripts/test.sh: BB_RE_SOURCE defaults to shared/vendor/ beside the clone; a set one is kept; none without the directory", () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "goma-test-sh-")));
  try {
    const clone = join(root, "clone");
    mkdirSync(join(clone, "scripts", "lib"), { recursive: true });
    copyFileSync(join(REPO, "scripts", "test.sh"), join(clone, "scripts", "test.sh"));
    copyFileSync(join(REPO, "scripts", "lib", "bb-re-source.sh"), join(clone, "scripts", "lib", "bb-re-source.sh"));
    script(join(clone, "scripts", "setup.sh"), "exit 0\n");
    script(join(clone, "scripts", "build.sh"), "exit 0\n");
    script(join(clone, "node_modules", ".bin", "bun"), '#!/bin/sh\necho "bun sees BB_RE_SOURCE=${BB_RE_SOURCE-(unset)}"\necho " 1 pass"\necho " 0 fail"\n');
    const env = { ...process.env };
    delete env.BB_RE_SOURCE;
    const testSh = (e: NodeJS.ProcessEnv) => spawnSync("bash", [join(clone, "scripts", "test.sh")], { env: e, encoding: "utf8", timeout: 60_000 });

    const none = testSh(env);
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stdout, /bun sees BB_RE_SOURCE=\(unset\)\n/);

    mkdirSync(join(root, "shared", "vendor"), { recursive: true });
    const vendored = testSh(env);
    assert.equal(vendored.status, 0, vendored.stderr);
    assert.ok(vendored.stdout.includes(`bun sees BB_RE_SOURCE=${join(root, "shared", "vendor")}\n`), vendored.stdout);
    assert.match(vendored.stderr, /BB_RE_SOURCE=.*shared\/vendor \(shared\/vendor\/ beside the clone/);
    assert.match(vendored.stdout, /^1 passed, 0 failed$/m);

    const set = testSh({ ...env, BB_RE_SOURCE: "/elsewhere/bb.tar.gz" });
    assert.ok(set.stdout.includes("bun sees BB_RE_SOURCE=/elsewhere/bb.tar.gz\n"), set.stdout);
    assert.equal(set.stderr, "");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("scripts/check-clean-tree.sh: silent on a clean tree; one line naming the changed and untracked files otherwise", () => {
  const dir = mkdtempSync(join(tmpdir(), "goma-clean-tree-"));
  try {
    const git = (...args: string[]) => {
      const r = spawnSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    git("init", "-q");
    writeFileSync(join(dir, "package-lock.json"), "{}\n");
    git("add", ".");
    git("commit", "-qm", "init");
    const check = () => spawnSync("bash", [join(REPO, "scripts", "check-clean-tree.sh"), dir], { encoding: "utf8" });
    const clean = check();
    assert.equal(clean.status, 0, clean.stderr);
    assert.equal(clean.stdout + clean.stderr, "");
    writeFileSync(join(dir, "package-lock.json"), '{"deno": 1}\n');
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "stray.o"), "");
    const dirty = check();
    assert.equal(dirty.status, 1);
    assert.equal(dirty.stdout, "");
    assert.equal(dirty.stderr, "check-clean-tree: error: the work tree is not clean after the run; changed or untracked: package-lock.json out/stray.o\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
