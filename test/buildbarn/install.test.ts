/**
 * scripts/buildbarn/install.sh's source-tarball fallback (BB_RE_SOURCE) refuses every source it cannot
 * check, each with one clear line: no tarball, no SHA256SUMS beside it, no entry for it, a wrong sum, a
 * tarball that is not a git archive of the pinned commit. The module proxy is switched off here
 * (GOPROXY=off, an empty module cache), so the fallback is taken whatever the network serves, and a
 * bb_storage stamped at the pinned version stands in for a built one, so nothing is compiled. The good
 * path (building from the vendored tarball) is what every Buildbarn test's install does where the proxy
 * refuses bb-remote-execution.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../e2e/harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const INSTALL = join(REPO, "scripts", "buildbarn", "install.sh");
const text = readFileSync(INSTALL, "utf8");
const RE_VERSION = /^BB_RE_VERSION=\$\{BB_RE_VERSION:-(\S+)\}$/m.exec(text)![1]!;
const STORAGE_VERSION = /^BB_STORAGE_VERSION=\$\{BB_STORAGE_VERSION:-(\S+)\}$/m.exec(text)![1]!;
const COMMIT = RE_VERSION.split("-").at(-1)!;
const NAME = `bb-remote-execution-${COMMIT}.tar.gz`;
/** The vendored tarball (BB_RE_SOURCE, as .ci/run sets it, or shared/vendor/ beside the clone), when there is one. */
const VENDORED = [process.env.BB_RE_SOURCE, join(dirname(REPO), "shared", "vendor")]
  .filter((p): p is string => !!p)
  .map((p) => (p.endsWith(".tar.gz") ? p : join(p, NAME)))
  .find((p) => existsSync(p));

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** install.sh with a fresh cache holding a stamped bb_storage, the module proxy off, and `source` as BB_RE_SOURCE. */
async function install(source: string | undefined) {
  const root = mkdtempSync(join(tmpdir(), "goma-bb-install-"));
  try {
    const dest = join(root, "cache", RE_VERSION);
    mkdirSync(join(dest, "bin"), { recursive: true });
    writeFileSync(join(dest, "bin", "bb_storage"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dest, "bin", "bb_storage"), 0o755);
    writeFileSync(join(dest, "bb_storage.stamp"), `${STORAGE_VERSION}\n`);
    const env: Record<string, string> = { GOMA_BB_CACHE: join(root, "cache"), GOPROXY: "off", GOMODCACHE: join(root, "mod"), GOFLAGS: "" };
    env.BB_RE_SOURCE = source ?? "";
    const r = await run(["bash", INSTALL], { env });
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("bb-install: error: "));
    return { ...r, errors, built: existsSync(join(dest, "bin", "bb_scheduler")) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("install.sh refuses an unchecked BB_RE_SOURCE, one clear line each; without one it says to set it", { timeout: 5 * 60_000 }, async () => {
  const dirs: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  try {
    const none = await install(undefined);
    assert.equal(none.code, 3, none.stderr);
    assert.equal(none.errors.length, 1, none.stderr);
    assert.match(none.errors[0]!, /does not serve github\.com\/buildbarn\/bb-remote-execution@.*; on a restricted network set BB_RE_SOURCE to its source tarball/);

    // A tarball not made by git archive (no commit id in it), and a git archive of another commit.
    const plain = tmp("goma-bb-plain-");
    mkdirSync(join(plain, "bb-remote-execution"));
    writeFileSync(join(plain, "bb-remote-execution", "go.mod"), "module github.com/buildbarn/bb-remote-execution\n");
    const plainTgz = join(plain, "plain.tar.gz");
    assert.equal((await run(["tar", "-czf", plainTgz, "-C", plain, "bb-remote-execution"])).code, 0);
    const otherTgz = join(plain, "other.tar.gz");
    const ga = await run(["bash", "-c", `set -euo pipefail; cd "$1/bb-remote-execution"; git init -q; git add go.mod
      git -c user.name=goma -c user.email=goma@localhost commit -qm x; git archive --prefix=bb-remote-execution/ HEAD | gzip >"$2"`, "_", plain, otherTgz]);
    assert.equal(ga.code, 0, ga.stderr);
    const sample = VENDORED ?? plainTgz;
    const withSums = (tarball: string, sums?: (sum: string) => string) => {
      const d = tmp("goma-bb-src-");
      copyFileSync(tarball, join(d, NAME));
      if (sums) writeFileSync(join(d, "SHA256SUMS"), sums(sha256(join(d, NAME))));
      return d;
    };
    const cases: [string, string, RegExp][] = [
      ["a missing file", "/nonexistent/" + NAME, /BB_RE_SOURCE: \/nonexistent\/.* does not exist/],
      ["no SHA256SUMS", withSums(sample), /no SHA256SUMS beside .*: refusing an unchecked source/],
      ["no entry", join(withSums(sample, (sum) => `${sum}  some-other.tar.gz\n`), NAME), /SHA256SUMS has no entry for bb-remote-execution-[0-9a-f]{12}\.tar\.gz: refusing an unchecked source/],
      ["a wrong sum", withSums(sample, (sum) => `${sum.replace(/^./, (c) => (c === "0" ? "1" : "0"))}  ${NAME}\n`), /has SHA-256 [0-9a-f]{64}, but .*SHA256SUMS says [0-9a-f]{64}: refusing it/],
      ["no commit id", withSums(plainTgz, (sum) => `${sum}  ${NAME}\n`), /carries no commit id \(want a git archive of commit [0-9a-f]{12}\)/],
      ["another commit", withSums(otherTgz, (sum) => `${sum} *${NAME}\n`), /is commit [0-9a-f]{40}, but BB_RE_VERSION \S+ wants [0-9a-f]{12}/],
    ];
    for (const [what, source, want] of cases) {
      const r = await install(source);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(r.errors.length, 1, `${what}: ${r.stderr}`);
      assert.match(r.errors[0]!, want, what);
      assert.equal(r.built, false, what);
      console.log(`${what}: ${r.errors[0]}`);
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
