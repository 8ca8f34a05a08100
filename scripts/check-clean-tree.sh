#!/usr/bin/env bash
# Fails, with one line naming the changed and untracked files, when the git work tree of DIR (default: this
# repository) is not clean (`git status --porcelain` prints anything); silent and exit 0 when it is.
# .ci/run's last step: the README's two commands must leave a fresh clone's `git status` clean.
#
#   bash scripts/check-clean-tree.sh [DIR]
set -euo pipefail
dir=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
st=$(git -C "$dir" status --porcelain --untracked-files=all) || { echo "check-clean-tree: error: git status failed in $dir" >&2; exit 2; }
[ -z "$st" ] && exit 0
files=$(printf '%s\n' "$st" | cut -c4- | paste -sd ' ' -)
echo "check-clean-tree: error: the work tree is not clean after the run; changed or untracked: $files" >&2
exit 1
