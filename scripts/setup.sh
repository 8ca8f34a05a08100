#!/usr/bin/env bash
# Installs everything goma's build, tests and main job need on a fresh Debian machine:
# compilers and build tools from Debian's packages (lua5.4's Debian build needs autotools, libtool and
# readline), then the npm dependencies (bun comes from npm). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in gcc g++ clang make binutils dpkg-dev autoconf automake libtool libreadline-dev hyperfine curl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  echo "setup: installing ${need[*]}"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
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
