#!/usr/bin/env bash
# Installs BuildGrid (PyPI `buildgrid`) for goma's tests, in a virtualenv under a per-user cache (never part
# of goma): ${GOMA_BG_CACHE:-${XDG_CACHE_HOME:-~/.cache}/goma-buildgrid}/venv-<version>. Prints the path of
# its `bgd` as the only line on stdout; progress goes to stderr. A second install takes a moment.
#
#   bash scripts/buildgrid/install.sh [--choose]
#
# --choose: print "VERSION PYTHON" (what would be installed, on which interpreter) and exit, installing nothing.
#
# Version: BUILDGRID_VERSION, else the newest a Python on this machine can run. 0.9.1 (the newest on PyPI)
# needs Python >= 3.13, so install.sh looks for one: python3 and python3.13…python3.19 on PATH (a pyenv shim
# that cannot run counts for nothing), then $PYENV_ROOT/versions/*/bin/python3 and ~/.pyenv/versions/*/bin/
# python3. With one, 0.9.1 is installed on it; without, 0.4.4 (the newest release that accepts Python 3.11,
# Debian 12's) on python3. It says which Python and version it took, and why. BUILDGRID_PYTHON names the
# interpreter outright.
# Needs the interpreter's venv module (Debian: apt-get install python3-venv) and PyPI.
set -euo pipefail
say() { echo "bg-install: $*" >&2; }
die() { echo "bg-install: error: $*" >&2; exit 1; }
case ${1:-} in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "" | --choose) ;;
  *) die "unknown argument '$1'" ;;
esac
# ok_python PY: PY runs and is >= 3.13 (a pyenv shim for a version not selected exits non-zero).
ok_python() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; }
# find_python313: the first Python >= 3.13 on PATH or under pyenv's versions, or nothing.
find_python313() {
  local c
  for c in python3 python3.13 python3.14 python3.15 python3.16 python3.17 python3.18 python3.19; do
    c=$(command -v "$c" 2>/dev/null) || continue
    if ok_python "$c"; then echo "$c"; return 0; fi
  done
  shopt -s nullglob
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/python3 "$HOME"/.pyenv/versions/*/bin/python3; do
    if ok_python "$c"; then echo "$c"; shopt -u nullglob; return 0; fi
  done
  shopt -u nullglob
  return 0
}
# The interpreter: BUILDGRID_PYTHON; else a Python >= 3.13 (unless BUILDGRID_VERSION=0.4.4 asks for the old
# release); else python3.
PY=${BUILDGRID_PYTHON:-}
if [ -n "$PY" ]; then
  why="BUILDGRID_PYTHON=$PY"
else
  [ "${BUILDGRID_VERSION:-}" = 0.4.4 ] || PY=$(find_python313)
  if [ -n "$PY" ]; then
    why="found Python >= 3.13 at $PY"
  else
    command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
    PY=$(command -v python3)
    if [ "${BUILDGRID_VERSION:-}" = 0.4.4 ]; then why="python3 at $PY"
    else why="no Python >= 3.13 among python3, python3.13…3.19 on PATH and ${PYENV_ROOT:-$HOME/.pyenv}/versions/*; 0.9.1 needs one"; fi
  fi
fi
py=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || die "$PY does not run"
if [ -n "${BUILDGRID_VERSION:-}" ]; then
  why="BUILDGRID_VERSION=$BUILDGRID_VERSION; $why"
elif "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)'; then
  BUILDGRID_VERSION=0.9.1
else
  BUILDGRID_VERSION=0.4.4
fi
say "buildgrid $BUILDGRID_VERSION on Python $py ($why)"
if [ "${1:-}" = --choose ]; then echo "$BUILDGRID_VERSION $PY"; exit 0; fi
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
"$PY" -m venv "$VENV" >&2 || die "$PY -m venv failed (Debian: apt-get install python3-venv)"
say "pip install buildgrid==$BUILDGRID_VERSION"
T0=$SECONDS
"$VENV/bin/pip" install --quiet --disable-pip-version-check "buildgrid==$BUILDGRID_VERSION" >&2 ||
  die "pip install buildgrid==$BUILDGRID_VERSION failed on Python $py (0.9.1 needs Python >= 3.13; BUILDGRID_VERSION=0.4.4 runs on 3.11)"
[ -x "$VENV/bin/bgd" ] || die "buildgrid $BUILDGRID_VERSION installed no bgd"
echo "$BUILDGRID_VERSION" >"$VENV/.goma-stamp"
say "buildgrid $BUILDGRID_VERSION installed in $((SECONDS - T0)) s"
echo "$VENV/bin/bgd"
