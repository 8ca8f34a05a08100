#!/usr/bin/env bash
# Installs Buildbarn's bb_storage, bb_scheduler, bb_worker and bb_runner for goma's integration tests, built
# from the Go module proxy at pinned pseudo-versions (reference/reapi-buildbarn.md §4.1), or bb-remote-
# execution from a checked source tarball where the proxy refuses it (BB_RE_SOURCE, below). Nothing of
# Buildbarn is part of this repository: the binaries live in a per-user cache.
#
#   bash scripts/buildbarn/install.sh [--storage-only]
#
# Prints the directory holding the binaries (BB_BIN for start.sh) as its only line on stdout; progress goes
# to stderr. Binaries are cached under ${GOMA_BB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/goma-bb}/<version>/bin,
# <version> being the bb-remote-execution pseudo-version (bb-storage's is recorded beside it), so a second
# install takes a moment. A cold install downloads both modules' dependency graphs and compiles them.
# --storage-only installs bb_storage alone (CAS, action cache, frontend: enough for cache-only tests).
#
# Why not `go install pkg@version`: both modules carry `replace` directives, which `go install` refuses; so
# each module is fetched with `go mod download` and built with `go build` inside a writable copy. bb_storage
# needs the genproto ByteStream patch that bb-storage ships in its own module
# (patches/org_golang_google_genproto_googleapis_bytestream/service-registrar.diff), applied to a vendored
# copy exactly as Buildbarn's own Bazel build applies it. BB_STORAGE_VERSION is the bb-storage that the
# pinned bb-remote-execution's go.mod requires (checked when that go.mod is at hand).
#
# Restricted networks: where the module proxy refuses bb-remote-execution (some proxies answer 403 "This
# module version is not available"), set BB_RE_SOURCE to a source tarball of exactly the pinned commit
# (`git archive --prefix=bb-remote-execution/ <commit>`, named bb-remote-execution-<12 hex>.tar.gz), or to
# the directory holding it. A file SHA256SUMS beside the tarball must list it (`sha256sum` format); the
# install refuses a tarball that is not listed, does not match its sum, or whose embedded commit id (git
# archive's pax header) is not the pinned one. The module proxy is always tried first; bb-remote-
# execution's dependencies still come from it (GOFLAGS=-mod=mod).
#
# Exit status: 0 installed; 1 an error; 3 a pinned module version is not available from the module proxy
# and no usable BB_RE_SOURCE was given (the message names it). Environment: BB_RE_VERSION,
# BB_STORAGE_VERSION, BB_RE_SOURCE, GOMA_BB_CACHE, and Go's own variables (GOPROXY, GOMODCACHE, GOCACHE).
# Needs Go >= 1.26.6 (on PATH or in /usr/local/go/bin), patch, and for BB_RE_SOURCE tar, gzip, sha256sum.
set -euo pipefail

BB_RE_VERSION=${BB_RE_VERSION:-v0.0.0-20260814085403-13313e6ab05b}
BB_STORAGE_VERSION=${BB_STORAGE_VERSION:-v0.0.0-20260805174928-33530b6bb903}
CACHE_ROOT=${GOMA_BB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goma-bb}
DEST=$CACHE_ROOT/$BB_RE_VERSION
BIN=$DEST/bin
STORAGE_ONLY=0
for a in "$@"; do
  case $a in
    --storage-only) STORAGE_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bb-install: error: unknown argument '$a'" >&2; exit 1 ;;
  esac
done

say() { echo "bb-install: $*" >&2; }
die() { echo "bb-install: error: $*" >&2; exit 1; }

# Stamps: $DEST/<binary>.stamp holds the module version the binary was built from.
have() { [ -x "$BIN/$1" ] && [ "$(cat "$DEST/$1.stamp" 2>/dev/null)" = "$2" ]; }
storage_ok() { have bb_storage "$BB_STORAGE_VERSION"; }
re_ok() { have bb_scheduler "$BB_RE_VERSION" && have bb_worker "$BB_RE_VERSION" && have bb_runner "$BB_RE_VERSION"; }
done_already() { storage_ok && { [ "$STORAGE_ONLY" = 1 ] || re_ok; }; }

if done_already; then
  say "cached in $BIN"
  echo "$BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null 2>&1 || die "Go is not installed (Buildbarn needs Go >= 1.26.6)"
command -v patch >/dev/null 2>&1 || die "'patch' is not installed (apt-get install patch)"

mkdir -p "$BIN"
# One install at a time (two test files may ask at once); the second waits, then finds the binaries.
exec 9>"$CACHE_ROOT/.lock"
flock 9
if done_already; then
  say "cached in $BIN (installed meanwhile)"
  echo "$BIN"
  exit 0
fi

T0=$SECONDS
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
say "$(go version)"
WORK=$DEST/work
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

# module_dir MODULE VERSION → the (read-only) directory of the downloaded module. Exits 3 when the proxy
# does not serve that version (with NO_EXIT=1: returns 3, the message in $WORK/module-error).
module_dir() {
  local json dir err
  json=$(go mod download -json "$1@$2" 2>&1) || {
    err=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -n1 | sed 's/\\n\\t/ /g; s/\\n/ /g')
    printf '%s\n' "the module proxy does not serve $1@$2: ${err:-$json}" >"$WORK/module-error"
    [ "${NO_EXIT:-0}" = 1 ] && return 3
    echo "bb-install: error: $(cat "$WORK/module-error")" >&2
    exit 3
  }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then die "go mod download $1@$2 reported no directory: $json"; fi
  echo "$dir"
}

# unpack_source SOURCE DST: bb-remote-execution's tree from the tarball SOURCE (a file, or a directory holding
# bb-remote-execution-<12 hex of the pinned commit>.tar.gz), checked against the SHA256SUMS beside it and
# against the commit id git archive recorded in it, unpacked to DST. Exits 1 with the reason otherwise.
unpack_source() {
  local src=$1 dst=$2 commit sums name want got id
  commit=${BB_RE_VERSION##*-}
  [[ $commit =~ ^[0-9a-f]{12}$ ]] || die "BB_RE_VERSION $BB_RE_VERSION does not end in a 12-hex commit: cannot check BB_RE_SOURCE against it"
  if [ -d "$src" ]; then src=${src%/}/bb-remote-execution-$commit.tar.gz; fi
  [ -f "$src" ] || die "BB_RE_SOURCE: $src does not exist (want the tarball of bb-remote-execution at commit $commit, or its directory)"
  name=$(basename "$src")
  sums=$(dirname "$src")/SHA256SUMS
  [ -f "$sums" ] || die "BB_RE_SOURCE: no SHA256SUMS beside $src: refusing an unchecked source"
  want=$(awk -v n="$name" '{ f = $2; sub(/^\*/, "", f) } f == n { print $1; exit }' "$sums")
  [ -n "$want" ] || die "BB_RE_SOURCE: $sums has no entry for $name: refusing an unchecked source"
  got=$(sha256sum "$src" | awk '{ print $1 }')
  [ "$got" = "$want" ] || die "BB_RE_SOURCE: $src has SHA-256 $got, but $sums says $want: refusing it"
  id=$(gzip -dc "$src" | head -c 1024 | tr -d '\0' | grep -ao 'comment=[0-9a-f]\{40\}' | head -n1 | sed 's/^comment=//' || true)
  [ -n "$id" ] || die "BB_RE_SOURCE: $src carries no commit id (want a git archive of commit $commit)"
  [[ $id == "$commit"* ]] || die "BB_RE_SOURCE: $src is commit $id, but BB_RE_VERSION $BB_RE_VERSION wants $commit"
  say "bb-remote-execution: building from $src (SHA-256 matches $sums, commit $id)"
  mkdir -p "$dst.unpack"
  tar -xzf "$src" -C "$dst.unpack" || die "BB_RE_SOURCE: cannot unpack $src"
  [ -f "$dst.unpack/bb-remote-execution/go.mod" ] || die "BB_RE_SOURCE: $src has no bb-remote-execution/go.mod"
  mv "$dst.unpack/bb-remote-execution" "$dst"
  rm -rf "$dst.unpack"
  echo "$src (sha256 $got)" >"$DEST/bb-remote-execution.source"
}

# writable_copy SRC DST: the module tree, writable (the module cache is read-only).
writable_copy() {
  cp -r "$1" "$2"
  chmod -R u+w "$2"
}

if ! storage_ok; then
  T1=$SECONDS
  say "bb-storage $BB_STORAGE_VERSION: downloading"
  src=$(module_dir github.com/buildbarn/bb-storage "$BB_STORAGE_VERSION")
  writable_copy "$src" "$WORK/bb-storage"
  PATCH=$WORK/bb-storage/patches/org_golang_google_genproto_googleapis_bytestream/service-registrar.diff
  [ -f "$PATCH" ] || die "bb-storage $BB_STORAGE_VERSION ships no ${PATCH#"$WORK/bb-storage/"}"
  say "bb-storage: go mod vendor, then its own ByteStream patch"
  (
    cd "$WORK/bb-storage"
    go mod vendor
    cd vendor/google.golang.org/genproto/googleapis/bytestream
    patch -p0 --forward --batch --quiet <"$PATCH"
  ) >&2 || die "vendoring or patching bb-storage failed"
  say "bb-storage: building bb_storage"
  (cd "$WORK/bb-storage" && go build -mod=vendor -trimpath -o "$BIN/bb_storage.new" ./cmd/bb_storage) >&2 ||
    die "building bb_storage failed"
  mv -f "$BIN/bb_storage.new" "$BIN/bb_storage"
  echo "$BB_STORAGE_VERSION" >"$DEST/bb_storage.stamp"
  rm -rf "$WORK/bb-storage"
  say "bb_storage built in $((SECONDS - T1)) s"
fi

if [ "$STORAGE_ONLY" = 0 ] && ! re_ok; then
  T1=$SECONDS
  say "bb-remote-execution $BB_RE_VERSION: downloading"
  re_goflags=$GOFLAGS
  rc=0
  src=$(NO_EXIT=1 module_dir github.com/buildbarn/bb-remote-execution "$BB_RE_VERSION") || rc=$?
  if [ "$rc" = 0 ]; then
    writable_copy "$src" "$WORK/bb-remote-execution"
    echo "module proxy" >"$DEST/bb-remote-execution.source"
  else
    [ "$rc" = 3 ] || exit "$rc"
    refused=$(cat "$WORK/module-error")
    if [ -z "${BB_RE_SOURCE:-}" ]; then
      echo "bb-install: error: $refused; on a restricted network set BB_RE_SOURCE to its source tarball (see --help)" >&2
      exit 3
    fi
    say "$refused"
    unpack_source "$BB_RE_SOURCE" "$WORK/bb-remote-execution"
    # The tarball holds no module cache entry: its dependencies are resolved from go.mod by the build.
    re_goflags="$GOFLAGS -mod=mod"
  fi
  wants=$(awk '$1 == "github.com/buildbarn/bb-storage" { print $2; exit }' "$WORK/bb-remote-execution/go.mod")
  if [ "$wants" != "$BB_STORAGE_VERSION" ]; then
    say "warning: bb-remote-execution $BB_RE_VERSION requires bb-storage $wants, bb_storage is built from $BB_STORAGE_VERSION"
  fi
  say "bb-remote-execution: building bb_scheduler bb_worker bb_runner"
  mkdir -p "$WORK/bin"
  (cd "$WORK/bb-remote-execution" && GOFLAGS=$re_goflags go build -trimpath -o "$WORK/bin/" ./cmd/bb_scheduler ./cmd/bb_worker ./cmd/bb_runner) >&2 ||
    die "building bb-remote-execution failed"
  for b in bb_scheduler bb_worker bb_runner; do
    mv -f "$WORK/bin/$b" "$BIN/$b"
    echo "$BB_RE_VERSION" >"$DEST/$b.stamp"
  done
  say "bb_scheduler, bb_worker, bb_runner built in $((SECONDS - T1)) s"
fi

say "installed in $((SECONDS - T0)) s: $BIN"
echo "$BIN"
