#!/usr/bin/env bash
# Builds dist/goma, one self-contained executable (reference/toolchain.md §1, §4), and the gomacc symlink.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/bun ] || { echo "build: run 'npm ci' first" >&2; exit 1; }
bash scripts/gen-protos.sh
mkdir -p dist
# Who built it, from what commit, when: Goma's User-Agent form (lib/util/build-info.ts).
hash=$(git rev-parse HEAD 2>/dev/null || echo 0)
node_modules/.bin/bun build --compile --splitting --bytecode --minify --format=esm \
  --define __GOMA_BUILD_USER__="\"${USER:-$(id -un)}\"" --define __GOMA_BUILD_HASH__="\"$hash\"" \
  --define __GOMA_BUILD_TIME__="$(date +%s)" \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --external @grpc/proto-loader \
  cmd/goma.ts --outfile dist/goma >/dev/null
ln -sf goma dist/gomacc
echo "built dist/goma ($(du -h dist/goma | cut -f1))"
