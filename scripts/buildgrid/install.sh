#!/usr/bin/env bash
# Installs BuildGrid (PyPI `buildgrid`) for goma's tests, in a virtualenv under a per-user cache (never part
# of goma): ${GOMA_BG_CACHE:-${XDG_CACHE_HOME:-~/.cache}/goma-buildgrid}/venv-<version>. Prints the path of
# its `bgd` as the only line on stdout; progress goes to stderr. A second install takes a moment.
#
#   bash scripts/buildgrid/install.sh
#
# Version: BUILDGRID_VERSION, else the newest this machine's python3 can run: 0.9.1 (the newest on PyPI)
# needs Python >= 3.13; on an older Python (Debian 12 has 3.11) pip refuses it ("Requires-Python >=3.13"),
# and 0.4.4, the newest release that accepts Python 3.11, is installed instead.
# Needs python3 with the venv module (Debian: apt-get install python3-venv) and PyPI.
set -euo pipefail
say() { echo "bg-install: $*" >&2; }
die() { echo "bg-install: error: $*" >&2; exit 1; }
case ${1:-} in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) die "unknown argument '$1'" ;;
esac
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -z "${BUILDGRID_VERSION:-}" ]; then
  if python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)'; then BUILDGRID_VERSION=0.9.1; else BUILDGRID_VERSION=0.4.4; fi
fi
CACHE=${GOMA_BG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goma-buildgrid}
VENV=$CACHE/venv-$BUILDGRID_VERSION
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -x "$VENV/bin/bgd" ] && [ "$(cat "$VENV/.goma-stamp" 2>/dev/null)" = "$BUILDGRID_VERSION" ]; then
  say "buildgrid $BUILDGRID_VERSION cached in $VENV"
  echo "$VENV/bin/bgd"
  exit 0
fi
rm -rf "$VENV"
say "python $py: creating $VENV"
python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
say "pip install buildgrid==$BUILDGRID_VERSION"
T0=$SECONDS
"$VENV/bin/pip" install --quiet --disable-pip-version-check "buildgrid==$BUILDGRID_VERSION" >&2 ||
  die "pip install buildgrid==$BUILDGRID_VERSION failed on Python $py (0.9.1 needs Python >= 3.13; BUILDGRID_VERSION=0.4.4 runs on 3.11)"
[ -x "$VENV/bin/bgd" ] || die "buildgrid $BUILDGRID_VERSION installed no bgd"
echo "$BUILDGRID_VERSION" >"$VENV/.goma-stamp"
say "buildgrid $BUILDGRID_VERSION installed in $((SECONDS - T0)) s"
echo "$VENV/bin/bgd"
