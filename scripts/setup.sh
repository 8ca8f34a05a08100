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
  echo "setup: installing ${need[*]}"
  # Waits for another apt/dpkg process's lock, bounded (GOMA_APT_LOCK_TIMEOUT s, default 600): scripts/lib/apt.sh.
  source scripts/lib/apt.sh
  goma_apt update -qq || exit 1
  goma_apt install -y -qq "${need[@]}" || exit 1
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
