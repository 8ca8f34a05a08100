#!/usr/bin/env bash
# Installs everything goma's build, tests and main job need on a fresh Debian machine:
# the compilers and tools from Debian's packages, then the npm dependencies (bun comes from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in gcc g++ clang make binutils dpkg-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x node_modules/.bin/bun ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
fi
[ -x node_modules/.bin/bun ] || { echo "setup: bun was not installed by npm" >&2; exit 1; }
