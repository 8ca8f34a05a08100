#!/usr/bin/env bash
# The `goma cc` latency benchmark (issue: "Lean"): the median of one `goma cc` round trip to a running
# proxy, against C-only baselines in the same run (`true`, `gcc --version`), measured with hyperfine.
# Prints a Markdown table of medians and the ratio to `gcc --version`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench-cc: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x dist/goma ] || bash scripts/build.sh
work=$(mktemp -d)
export GOMA_TMP_DIR="$work/tmp" GOMA_CACHE_DIR="$work/cache" GOMA_COMPILER_PROXY_PORT=0 GOMA_SERVER_PORT=1
trap 'dist/goma proxy stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
dist/goma proxy start >/dev/null
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$work/h.json" \
  'true' 'gcc --version' 'dist/goma cc --ping' 'dist/goma --version' >/dev/null 2>&1
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = (x) => x.median * 1000;
const base = med(r.find((x) => x.command === "gcc --version"));
console.log("| command | median (ms) | vs gcc --version |\n|---|---:|---:|");
for (const x of r) console.log(`| \`${x.command}\` | ${med(x).toFixed(2)} | ${(med(x) / base).toFixed(2)}× |`);
' "$work/h.json"
