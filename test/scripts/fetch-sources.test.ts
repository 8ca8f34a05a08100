/**
 * scripts/fetch-sources.sh's version fallback, against stub `apt-get` and `apt-cache` (small shell scripts
 * this test writes, first on PATH) in a temp dir (GOMA_SRC_DIR, GOMA_APT_DIR: never the repo's .cache/):
 * the lists offer two versions of zlib, and the newest "cannot be had" (apt-get source exits 100 with apt's
 * Err/E lines for a 404, as the security suite's files answered on this project's machines). The script
 * takes the older one and says which; when no version can be had it fails with one line naming the
 * versions tried, and leaves nothing behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NEW = "1:1.2.13.dfsg-1+deb12u1";
const OLD = "1:1.2.13.dfsg-1";

/** `apt-cache showsrc` offering STUB_VERSIONS (older first: the script must order them itself). */
const APT_CACHE = `#!/bin/sh
for a; do last=$a; done
for v in $STUB_VERSIONS; do printf 'Package: %s\\nBinary: %s1g\\nVersion: %s\\nFormat: 3.0 (quilt)\\n\\n' "$last" "$last" "$v"; done
`;
/** `apt-get update` succeeds; `apt-get source PKG=V` unpacks PKG-1.2.13/ when V is in STUB_GOOD, else answers 404 like apt. */
const APT_GET = `#!/bin/sh
echo "$*" >>"$STUB_LOG"
for a; do last=$a; done
case " $* " in
  *" update "*) exit 0 ;;
  *" source "*)
    pkg=\${last%%=*}; v=\${last#*=}
    case " $STUB_GOOD " in *" $v "*) mkdir "$pkg-1.2.13" && echo "dpkg-source: info: extracting $pkg in $pkg-1.2.13"; exit 0 ;; esac
    echo "Reading package lists..."
    echo "Need to get 2 kB of source archives."
    echo "Err:1 http://deb.debian.org/debian-security bookworm-security/main $pkg $v (dsc)"
    echo "  404  Not Found [IP: 151.101.2.132 80]"
    echo "E: Failed to fetch http://deb.debian.org/debian-security/pool/updates/main/z/$pkg/\${pkg}_$v.dsc  404  Not Found [IP: 151.101.2.132 80]"
    echo "E: Failed to fetch some archives."
    exit 100 ;;
esac
echo "stub apt-get: unexpected arguments $*" >&2
exit 1
`;

function setup(): { root: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), "goma-fetch-sources-"));
  mkdirSync(join(root, "bin"));
  for (const [name, text] of [["apt-get", APT_GET], ["apt-cache", APT_CACHE]] as const) {
    writeFileSync(join(root, "bin", name), text);
    chmodSync(join(root, "bin", name), 0o755);
  }
  const env = {
    ...process.env, PATH: `${join(root, "bin")}:${process.env.PATH}`, GOMA_SRC_DIR: join(root, "src"), GOMA_APT_DIR: join(root, "apt"),
    STUB_LOG: join(root, "apt-get.log"), STUB_VERSIONS: `${OLD} ${NEW}`,
  };
  return { root, env };
}

function fetch(env: NodeJS.ProcessEnv) {
  return spawnSync("bash", [join(REPO, "scripts", "fetch-sources.sh"), "zlib"], { env, encoding: "utf8", timeout: 120_000 });
}

test("fetch-sources.sh: the newest version cannot be had (404) → it takes the older one and says which", () => {
  const { root, env } = setup();
  try {
    const r = fetch({ ...env, STUB_GOOD: OLD });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`apt-get source zlib=${esc(NEW)}\\n.*zlib=${esc(NEW)} cannot be had: Err:1 .*zlib ${esc(NEW)} \\(dsc\\)`));
    assert.ok(r.stderr.includes(`fetch-sources: zlib: took ${OLD} (newer ${NEW} could not be downloaded)`), r.stderr);
    assert.equal(r.stdout.trim(), `zlib: ${join(root, "src", "zlib", "zlib-1.2.13")}`);
    assert.deepEqual(readFileSync(join(root, "src", "zlib", ".goma-fetched"), "utf8").split("\n").slice(0, 2), ["zlib-1.2.13", OLD]);
    const tried = readFileSync(env.STUB_LOG!, "utf8").split("\n").filter((l) => / source /.test(l)).map((l) => l.split(" ").at(-1));
    assert.deepEqual(tried, [`zlib=${NEW}`, `zlib=${OLD}`], "newest first, then the older");
    // A second run reuses the unpacked tree without apt.
    const again = fetch({ ...env, STUB_GOOD: "" });
    assert.equal(again.status, 0, again.stderr);
    assert.ok(again.stderr.includes(`fetch-sources: zlib ${OLD}: `), again.stderr);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("fetch-sources.sh: no version can be had → one clear failure line naming the versions tried, exit non-zero, nothing left behind", () => {
  const { root, env } = setup();
  try {
    const r = fetch({ ...env, STUB_GOOD: "" });
    assert.notEqual(r.status, 0);
    const last = r.stderr.trim().split("\n").at(-1);
    assert.equal(last, `fetch-sources: apt-get source zlib failed for every version the lists offer (${NEW} ${OLD}); the last attempt's output is above`);
    assert.equal(existsSync(join(root, "src", "zlib")), false);
    assert.deepEqual(readdirSync(join(root, "src")), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
