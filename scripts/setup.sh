#!/usr/bin/env bash
# Installs everything goma's build, tests and main job need on a fresh Debian machine:
# compilers and build tools from Debian's packages (lua5.4's Debian build needs autotools, libtool and
# readline; bubblewrap sandboxes the embedded backend's actions; chromium runs the dashboard's browser test
# headless; `goma bench` compares against ccache and sccache and builds CMake projects, which the include
# corpus configures with ninja-build too; bazel-bootstrap,
# Bazel 4.2, is the real REAPI client of test/e2e/bazel.test.ts: ~36 s to install, ~27 s of tests), then
# the npm dependencies (bun comes from npm). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in gcc g++ clang make cmake ninja-build binutils dpkg-dev autoconf automake libtool libreadline-dev hyperfine curl bubblewrap chromium ccache sccache bazel-bootstrap patch python3-venv; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  echo "setup: installing ${need[*]}"
  # Another apt or dpkg (unattended-upgrades, a second setup) may hold the lock: wait for it, bounded
  # (GOMA_APT_LOCK_TIMEOUT seconds, default 600), instead of quitting at once with "Could not get lock".
  lock_wait=${GOMA_APT_LOCK_TIMEOUT:-600}
  # apt-get install waits by itself (DPkg::Lock::Timeout); apt 2.6's `update` ignores that option for the
  # lists lock, so a locked run is retried every 2 s until the same bound.
  apt_() {
    local log rc t0=$SECONDS
    log=$(mktemp)
    while :; do
      DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout="$lock_wait" "$@" >"$log" 2>&1
      rc=$?
      [ $rc -ne 0 ] && grep -q 'Could not get lock' "$log" && [ $((SECONDS - t0)) -lt "$lock_wait" ] || break
      [ -n "${said_wait:-}" ] || { echo "setup: waiting for another apt/dpkg process to release its lock (at most $lock_wait s)"; said_wait=1; }
      sleep 2
    done
    if [ $rc -ne 0 ]; then
      cat "$log" >&2
      if grep -q 'Could not get lock' "$log"; then
        echo "setup: error: another apt/dpkg process held its lock for more than $lock_wait s (see above); let it finish and run setup again, or raise GOMA_APT_LOCK_TIMEOUT" >&2
      else
        echo "setup: error: apt-get $* failed (see above)" >&2
      fi
    fi
    rm -f "$log"
    return $rc
  }
  apt_ update -qq || exit 1
  apt_ install -y -qq "${need[@]}" || exit 1
fi
# npm dependencies: reinstall only when package-lock.json changed since the last install.
stamp=node_modules/.goma-lock-sha256
want=$(sha256sum package-lock.json | cut -c1-64)
if [ ! -x node_modules/.bin/bun ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # `npm install`, not `npm ci`: the registry these machines reach lacks deno's optional packages for
  # other platforms (404), which `npm ci` refuses as a lock mismatch; versions stay pinned by the lock.
  npm install --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
  [ -x node_modules/.bin/bun ] || { echo "setup: bun was not installed by npm" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
