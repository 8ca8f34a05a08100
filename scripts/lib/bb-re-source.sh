# shellcheck shell=bash
# goma_default_bb_re_source REPO: when BB_RE_SOURCE is unset (or empty) and a directory shared/vendor/ sits
# beside the clone REPO (REPO/../shared/vendor, where this project's machines keep the checked
# bb-remote-execution source tarball and its SHA256SUMS), exports BB_RE_SOURCE as that directory's absolute
# path and says so on stderr; scripts/buildbarn/install.sh builds from it when the Go module proxy refuses
# the module. A BB_RE_SOURCE already set is kept as it is. Sourced by scripts/test.sh and .ci/run.
goma_default_bb_re_source() {
  local vendor
  [ -z "${BB_RE_SOURCE:-}" ] || return 0
  [ -d "$1/../shared/vendor" ] || return 0
  vendor=$(cd "$1/../shared/vendor" && pwd) || return 0
  export BB_RE_SOURCE=$vendor
  echo "BB_RE_SOURCE=$vendor (shared/vendor/ beside the clone; Buildbarn's install builds from it if the module proxy refuses)" >&2
}
