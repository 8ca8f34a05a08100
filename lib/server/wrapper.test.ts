import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, writeFileSync, readFileSync, utimesSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENV_MISMATCH_EXIT, ENV_MISMATCH_PREFIX, EXEC_ROOT_MARKER, MANIFEST_PATH, WRAPPER_PATH, WRAPPER_SCRIPT } from "./wrapper.ts";
import { actionResultToExecResp } from "./result.ts";
import { FileStore } from "./file-store.ts";
import { goma } from "../goma/proto.ts";
import type { Reapi } from "./reapi.ts";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** An input root with the wrapper and a manifest listing `files` (path → hash written to the manifest). */
function execRoot(manifest: [string, string][]): string {
  const root = mkdtempSync(join(tmpdir(), "goma-wrapper-"));
  mkdirSync(join(root, ".goma"));
  writeFileSync(join(root, WRAPPER_PATH), WRAPPER_SCRIPT, { mode: 0o755 });
  writeFileSync(join(root, MANIFEST_PATH), manifest.map(([p, h]) => `${h}  ${p}\n`).join(""));
  return root;
}
const runWrapper = (root: string, env: Record<string, string> = {}) =>
  spawnSync("bash", [WRAPPER_PATH, "/bin/sh", "-c", "echo ran in $PWD"], {
    cwd: root, encoding: "utf8", env: { PATH: "/usr/bin:/bin", WORK_DIR: ".", ...env },
  });

test("wrapper runs the command when the worker's files match the env manifest, reporting its exec root first", () => {
  const tool = join(mkdtempSync(join(tmpdir(), "goma-tool-")), "cc1");
  writeFileSync(tool, "compiler v1");
  const root = execRoot([[tool, sha(tool)]]);
  const r = runWrapper(root);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ran in /);
  assert.ok(r.stderr.startsWith(`${EXEC_ROOT_MARKER}${root}\n`), r.stderr);
});

test("wrapper refuses to compile when a listed file differs on the worker, even after an earlier verified run", () => {
  const tool = join(mkdtempSync(join(tmpdir(), "goma-tool-")), "cc1");
  writeFileSync(tool, "compiler v1");
  const root = execRoot([[tool, sha(tool)]]);
  assert.equal(runWrapper(root).status, 0);
  writeFileSync(tool, "compiler v2 (another build)");
  utimesSync(tool, new Date(), new Date(Date.now() + 5000));
  const r = runWrapper(root);
  assert.equal(r.status, ENV_MISMATCH_EXIT);
  assert.match(r.stderr, new RegExp(`${ENV_MISMATCH_PREFIX}\\n.*${tool}: FAILED`));
  assert.doesNotMatch(r.stdout, /ran in/);
});

test("wrapper refuses when a listed file is missing on the worker", () => {
  const root = execRoot([["/nonexistent/goma/cc1", "0".repeat(64)]]);
  const r = runWrapper(root);
  assert.equal(r.status, ENV_MISMATCH_EXIT);
  assert.match(r.stderr, /nonexistent\/goma\/cc1/);
});

test("wrapper refuses, as an environment mismatch, when the compiler is not on the worker", () => {
  const root = execRoot([]);
  const r = spawnSync("bash", [WRAPPER_PATH, "tools/gcc", "-c", "a.c"], {
    cwd: root, encoding: "utf8", env: { PATH: "/usr/bin:/bin", WORK_DIR: "." },
  });
  assert.equal(r.status, ENV_MISMATCH_EXIT);
  assert.match(r.stderr, new RegExp(`${ENV_MISMATCH_PREFIX}\\ntools/gcc: no such compiler on the worker`));
});

test("an env mismatch comes back as BAD_REQUEST with the wrapper's message (the proxy falls back locally)", async () => {
  const stderr = Buffer.from(`${EXEC_ROOT_MARKER}/w/1\n${ENV_MISMATCH_PREFIX}\n/usr/lib/gcc/x86_64-linux-gnu/12/cc1: FAILED\n`);
  const reapi = {} as Reapi;
  const resp = await actionResultToExecResp({ exitCode: ENV_MISMATCH_EXIT, stderrRaw: stderr }, {
    reapi, files: new FileStore(), cwd: "/p", root: "/p", outputsByRel: new Map(),
    actionDigest: { hash: "a".repeat(64), sizeBytes: 1 }, cacheHit: 0,
  });
  assert.equal(resp.error, goma.ExecResp.ExecError.BAD_REQUEST);
  assert.match(resp.errorMessage![0]!, /execution environment differs.*\n.*cc1: FAILED/s);
});

test("wrapper keeps no verification marker in a shared /tmp directory: the worker user's cache dir, or none without HOME", () => {
  const tool = join(mkdtempSync(join(tmpdir(), "goma-tool-")), "cc1");
  writeFileSync(tool, `compiler ${Math.random()}`);
  const root = execRoot([[tool, sha(tool)]]);
  // The key the wrapper of before this change used under /tmp/goma-env-verified-<uid>.
  const key = spawnSync("bash", ["-c", `m=${MANIFEST_PATH}; { cat "$m"; sed 's/^[0-9a-f]*  //' "$m" | tr '\\n' '\\0' | xargs -0 stat -L -c '%n %s %Y %i' 2>&1; } | sha256sum | cut -c1-64`],
    { cwd: root, encoding: "utf8" }).stdout.trim();
  const shared = `/tmp/goma-env-verified-${process.getuid!()}/${key}`;
  assert.equal(runWrapper(root).status, 0);
  assert.equal(existsSync(shared), false, `${shared} was written`);
  const home = mkdtempSync(join(tmpdir(), "goma-home-"));
  assert.equal(runWrapper(root, { HOME: home }).status, 0);
  assert.deepEqual(readdirSync(join(home, ".cache", "goma-env-verified")), [key]);
  assert.equal(existsSync(shared), false);
});

test("wrapper trusts GOMA_ENV_VERIFIED only for the manifest it names (the embedded backend verified it)", () => {
  const root = execRoot([["/nonexistent/goma/cc1", "0".repeat(64)]]);
  const manifestSha = createHash("sha256").update(readFileSync(join(root, MANIFEST_PATH))).digest("hex");
  assert.equal(runWrapper(root, { GOMA_ENV_VERIFIED: manifestSha }).status, 0);
  assert.equal(runWrapper(root, { GOMA_ENV_VERIFIED: "1".repeat(64) }).status, ENV_MISMATCH_EXIT);
});
