/**
 * scripts/buildgrid/install.sh --choose: which BuildGrid and which Python it takes, with stub interpreters
 * (shell scripts this test writes) so that the answer does not depend on this machine's Pythons: python3 is
 * a 3.11, python3.13 on PATH is a pyenv shim that cannot run (exit 127, as pyenv's does for a version not
 * selected), and $PYENV_ROOT/versions/3.13.0/bin/python3 is a 3.13. With that one, 0.9.1 (which needs Python
 * >= 3.13); without it, 0.4.4 on python3, saying why; BUILDGRID_VERSION=0.4.4 keeps python3.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A stub interpreter of version `v`: prints it when asked (the script's print call), and answers the ">= 3.13" check. */
function python(path: string, v: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const ge313 = Number(v.split(".")[1]) >= 13;
  writeFileSync(path, `#!/bin/sh\ncase "$*" in *print*) echo ${v} ;; *version_info*) exit ${ge313 ? 0 : 1} ;; *) exit 3 ;; esac\n`);
  chmodSync(path, 0o755);
}

test("buildgrid install.sh --choose: 0.9.1 on a Python >= 3.13 under pyenv's versions (past a broken shim), else 0.4.4 on python3, saying why", () => {
  const root = mkdtempSync(join(tmpdir(), "goma-bg-choose-"));
  try {
    const bin = join(root, "bin");
    python(join(bin, "python3"), "3.11");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "python3.13"), "#!/bin/sh\necho \"pyenv: python3.13: command not found\" >&2\nexit 127\n");
    chmodSync(join(bin, "python3.13"), 0o755);
    const pyenv = join(root, "pyenv");
    mkdirSync(join(pyenv, "versions"), { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:/usr/bin:/bin`, PYENV_ROOT: pyenv, HOME: join(root, "home") };
    delete env.BUILDGRID_VERSION;
    delete env.BUILDGRID_PYTHON;
    const choose = (e: NodeJS.ProcessEnv) => spawnSync("bash", [join(REPO, "scripts", "buildgrid", "install.sh"), "--choose"], { env: e, encoding: "utf8" });

    const old = choose(env);
    assert.equal(old.status, 0, old.stderr);
    assert.equal(old.stdout, `0.4.4 ${join(bin, "python3")}\n`);
    assert.match(old.stderr, /buildgrid 0\.4\.4 on Python 3\.11 \(no Python >= 3\.13 among .*pyenv\/versions\/\*; 0\.9\.1 needs one\)/);

    python(join(pyenv, "versions", "3.13.0", "bin", "python3"), "3.13");
    const fresh = choose(env);
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.equal(fresh.stdout, `0.9.1 ${join(pyenv, "versions", "3.13.0", "bin", "python3")}\n`);
    assert.match(fresh.stderr, /buildgrid 0\.9\.1 on Python 3\.13 \(found Python >= 3\.13 at .*3\.13\.0\/bin\/python3\)/);

    const pinned = choose({ ...env, BUILDGRID_VERSION: "0.4.4" });
    assert.equal(pinned.stdout, `0.4.4 ${join(bin, "python3")}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
