#!/usr/bin/env bash
# Runs every test (unit and end to end) with `bun test` and closes with the line "N passed, N failed"
# (bun's own summary is not a format CI reads; reference/toolchain.md §7).
set -uo pipefail
cd "$(dirname "$0")/.."
# Buildbarn's tests install it (scripts/buildbarn/install.sh): where the module proxy refuses
# bb-remote-execution, from the checked source in shared/vendor/ beside the clone, unless BB_RE_SOURCE is set.
source scripts/lib/bb-re-source.sh
goma_default_bb_re_source "$PWD"
bash scripts/setup.sh || exit 1
bash scripts/build.sh || exit 1
out=$(mktemp)
# --timeout (ms, per test and per hook): end-to-end tests build real projects and start daemons.
# bunfig.toml's [test] timeout is not applied to node:test tests and hooks by bun 1.4.5; the flag is.
node_modules/.bin/bun test --timeout 600000 "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
p=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tr -dc 0-9)
f=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tr -dc 0-9)
s=$(grep -Eo '^ *[0-9]+ skip$' "$out" | tr -dc 0-9)
rm -f "$out"
echo "${p:-0} passed, ${f:-0} failed${s:+, $s skipped}"
exit "$rc"
