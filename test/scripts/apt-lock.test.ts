/**
 * scripts/lib/apt.sh's goma_apt (setup.sh's and main-job.sh's apt-get): while another process holds the
 * dpkg frontend lock, the way apt and dpkg hold it (a POSIX fcntl lock, python3's fcntl.lockf, in a child
 * process), it waits at most GOMA_APT_LOCK_TIMEOUT seconds and then fails with one clear line; once the lock
 * is released the same call proceeds. The apt-get run is a harmless `apt-get check` (it takes the frontend
 * lock like install does) on a private copy of the dpkg admin directory (`-o Dir::State::status=`: apt
 * derives lock and lock-frontend from it), so the test neither needs nor blocks this machine's own
 * /var/lib/dpkg lock, which other engineers' setups may be using.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Runs `goma_apt ARGS…` alone (sourcing scripts/lib/apt.sh) with GOMA_APT_LOCK_TIMEOUT=`timeout`. */
function gomaApt(timeout: string, args: string[]) {
  return spawnSync("bash", ["-c", `source "${REPO}/scripts/lib/apt.sh" && goma_apt "$@"`, "goma_apt", ...args], {
    env: { ...process.env, GOMA_APT_LOCK_TIMEOUT: timeout }, encoding: "utf8", timeout: 120_000,
  });
}

/** Holds an fcntl write lock on `file` (as apt does) until released; resolves once it holds it. */
async function holdLock(file: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const child = spawn("python3", ["-c", [
    "import fcntl, os, sys",
    "f = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)",
    "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)",
    "print('locked', flush=True)",
    "sys.stdin.read()",
  ].join("\n"), file], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.setEncoding("utf8");
  await new Promise<void>((res, rej) => {
    child.stdout!.on("data", (d: string) => { out += d; if (out.includes("locked\n")) res(); });
    child.once("exit", (code) => rej(new Error(`the lock holder exited ${code} before it held ${file}`)));
  });
  return {
    pid: child.pid!,
    release: async () => {
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}

test("goma_apt waits for another process's dpkg lock at most GOMA_APT_LOCK_TIMEOUT s, fails with one clear line, and proceeds once it is released", { timeout: 5 * 60_000 }, async () => {
  const admin = mkdtempSync(join(tmpdir(), "goma-apt-lock-"));
  try {
    copyFileSync("/var/lib/dpkg/status", join(admin, "status"));
    writeFileSync(join(admin, "lock"), "");
    const args = ["-o", `Dir::State::status=${join(admin, "status")}`, "check"];
    const holder = await holdLock(join(admin, "lock-frontend"));
    let released = false;
    try {
      const held = gomaApt("2", args);
      assert.notEqual(held.status, 0, held.stderr);
      assert.match(held.stderr, new RegExp(`Could not get lock ${admin}/lock-frontend\\. It is held by process ${holder.pid}`));
      assert.equal(held.stderr.trim().split("\n").at(-1),
        "setup: error: another apt/dpkg process held its lock for more than 2 s (see above); let it finish and run again, or raise GOMA_APT_LOCK_TIMEOUT");
      await holder.release();
      released = true;
      const free = gomaApt("2", args);
      assert.equal(free.status, 0, free.stderr);
      assert.equal(free.stderr, "", "no message when apt-get succeeds");
    } finally {
      if (!released) await holder.release();
    }
    const bad = gomaApt("soon", args);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), "setup: error: GOMA_APT_LOCK_TIMEOUT 'soon' is not a number of seconds");
  } finally {
    rmSync(admin, { recursive: true, force: true });
  }
});
