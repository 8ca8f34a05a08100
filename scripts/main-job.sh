#!/usr/bin/env bash
# The main job (README command 1): builds real Debian C projects through goma and proves the objects are
# byte-for-byte those of a local build.
#
#   bash scripts/main-job.sh [--backend embedded|buildbarn] [--instance-name NAME] [--remoteexec-addr ADDR]
#                            [--workers N] [--jobs N] [--twice] [--keep-cache | --fresh] [--state-dir DIR]
#                            [--no-setup] [--no-goma] [PROJECT…]        (projects: zlib lua5.4; default both)
#
# Steps: scripts/setup.sh, scripts/build.sh, scripts/fetch-sources.sh; then it starts `dist/goma server`
# (backend below) and `dist/goma proxy`, and for each project:
#   1. builds a fresh copy of the Debian source tree with CC="dist/goma cc gcc" (CXX="dist/goma cc g++"),
#   2. saves every object file goma produced (ELF *.o / *.lo, .libs/*.o) under $STATE/objs/<project>/,
#   3. with --twice, builds a fresh copy through goma again: every compile of its make phase must be an
#      action-cache hit (configure's test programs have per-run names) and every object identical to the
#      first build's,
#   4. replaces the tree with a fresh copy at the same path and rebuilds it locally with plain gcc/g++,
#   5. compares every object byte for byte (cmp) and checks that each carries DWARF debug info.
#
# Backends: `embedded` (default) is goma server's own REAPI backend. `buildbarn` is a single-host Buildbarn
# (scripts/buildbarn/: installed from the Go module proxy on first use, started fresh under $STATE/buildbarn
# with its worker serving --instance-name as instance name prefix, and stopped at the end); goma server
# reaches it with --remoteexec-addr and --remote-instance-name. With --remoteexec-addr ADDR, goma server uses
# the REAPI service at ADDR (an existing Buildbarn, BuildGrid …) and nothing else is started. BB_PORT_OFFSET
# moves the started Buildbarn's ports (default 8980 …); --workers N starts it with N workers (start.sh).
# --jobs N runs make -jN (default: the number of cores).
# Then it prints per project the proxy's counts (remote, cache hits, local fallbacks, local, failures), the
# goma and local build times, and stops the proxy and the server (also on failure or Ctrl-C).
#
# Exit status is non-zero when a step fails, when an object differs or lacks debug info, when a compile fell
# back to local or failed in goma, or when goma saw fewer compiles than there are objects (the compiles
# bypassed the proxy).
#
# The state ($STATE, default <repo>/.cache/main-job/: server cache, proxy cache, build trees, saved objects,
# logs) is kept between runs, so a second run shows action-cache hits. --fresh empties the server's and the
# proxy's caches first (--keep-cache, the default, keeps them). --no-setup skips setup.sh and build.sh (uses
# the dist/goma that is there). --no-goma builds both times with plain gcc and starts nothing: a check of
# the comparison logic and of the projects' determinism.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOMA=${GOMA_BIN:-$REPO/dist/goma} # GOMA_BIN: another binary (tests of this script)
BACKEND=embedded
INSTANCE_NAME=
REMOTEEXEC_ADDR=
TWICE=0
BB_WORKERS=1
BB_STARTED=0
KEEP_CACHE=1
DO_SETUP=1
USE_GOMA=1
STATE=${GOMA_MAIN_JOB_STATE:-$REPO/.cache/main-job}
ALL_PROJECTS=(zlib lua5.4)
PROJECTS=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "main-job: error: $*" >&2; exit 1; }
say() { echo "main-job: $*"; }
step() { printf '\n== %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --backend) [ $# -ge 2 ] || die "--backend needs a value"; BACKEND=$2; shift 2 ;;
    --backend=*) BACKEND=${1#--backend=}; shift ;;
    --instance-name) [ $# -ge 2 ] || die "--instance-name needs a value"; INSTANCE_NAME=$2; shift 2 ;;
    --instance-name=*) INSTANCE_NAME=${1#--instance-name=}; shift ;;
    --remoteexec-addr) [ $# -ge 2 ] || die "--remoteexec-addr needs a value"; REMOTEEXEC_ADDR=$2; shift 2 ;;
    --remoteexec-addr=*) REMOTEEXEC_ADDR=${1#--remoteexec-addr=}; shift ;;
    --twice) TWICE=1; shift ;;
    --workers) [ $# -ge 2 ] || die "--workers needs a value"; BB_WORKERS=$2; shift 2 ;;
    --workers=*) BB_WORKERS=${1#--workers=}; shift ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; JOBS_ARG=$2; shift 2 ;;
    --jobs=*) JOBS_ARG=${1#--jobs=}; shift ;;
    --keep-cache) KEEP_CACHE=1; shift ;;
    --fresh) KEEP_CACHE=0; shift ;;
    --state-dir) [ $# -ge 2 ] || die "--state-dir needs a value"; STATE=$2; shift 2 ;;
    --state-dir=*) STATE=${1#--state-dir=}; shift ;;
    --no-setup) DO_SETUP=0; shift ;;
    --no-goma) USE_GOMA=0; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      case " ${ALL_PROJECTS[*]} " in *" $1 "*) PROJECTS+=("$1") ;; *) die "unknown project '$1' (known: ${ALL_PROJECTS[*]})" ;; esac
      shift ;;
  esac
done
[ ${#PROJECTS[@]} -gt 0 ] || PROJECTS=("${ALL_PROJECTS[@]}")
case $BACKEND in
  embedded) [ -z "$REMOTEEXEC_ADDR" ] || BACKEND=remote ;;
  buildbarn) [ -z "$REMOTEEXEC_ADDR" ] || BACKEND=remote ;;
  *) die "--backend $BACKEND is not supported: 'embedded' or 'buildbarn'" ;;
esac
[ "$BACKEND" != embedded ] || [ -z "$INSTANCE_NAME" ] || die "--instance-name needs --backend buildbarn or --remoteexec-addr"

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LOGS=$STATE/logs
BUILD=$STATE/build
OBJS=$STATE/objs
JOBS=${JOBS_ARG:-$(nproc 2>/dev/null || echo 2)}
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number, got '$JOBS'"
[[ $BB_WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers wants a positive number, got '$BB_WORKERS'"
[ "$BB_WORKERS" = 1 ] || [ "$BACKEND" = buildbarn ] || die "--workers needs --backend buildbarn (without --remoteexec-addr)"
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
rel() { local p=$1; echo "${p#"$REPO"/}"; }

# ---- processes this script starts, and their cleanup ------------------------------------------------
SERVER_PID=
PROXY_STARTED=0

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ "$PROXY_STARTED" = 1 ]; then
    say "stopping the proxy"
    timeout 30 "$GOMA" proxy stop >>"$LOGS/proxy-stop.log" 2>&1 || say "warning: 'goma proxy stop' failed (log: $(rel "$LOGS/proxy-stop.log"))"
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    say "stopping the server (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      say "warning: the server did not stop within 10 s of SIGTERM: killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -f "$STATE/server.pid"
  if [ "$BB_STARTED" = 1 ]; then
    [ "$rc" = 0 ] || show_buildbarn_logs
    say "stopping Buildbarn"
    BB_ROOT=$STATE/buildbarn bash "$REPO/scripts/buildbarn/stop.sh" >>"$LOGS/buildbarn-stop.log" 2>&1 ||
      say "warning: scripts/buildbarn/stop.sh failed (log: $(rel "$LOGS/buildbarn-stop.log"))"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers --------------------------------------------------------------------------------------------
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
  else
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
  fi
}

# A free TCP port from 20000-29999 (random start, then upwards); never the same twice in one run.
USED_PORTS=" "
free_port() {
  local p i
  p=$((20000 + RANDOM % 10000))
  for ((i = 0; i < 200; i++)); do
    if [[ $USED_PORTS != *" $p "* ]] && ! port_in_use "$p"; then
      USED_PORTS+="$p "
      echo "$p"
      return 0
    fi
    p=$((p >= 29999 ? 20000 : p + 1))
  done
  die "no free TCP port found in 20000-29999"
}

# GET http://127.0.0.1:$1$2 → body on stdout (curl when there is one, else bash's /dev/tcp).
http_get() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 10 "http://127.0.0.1:$1$2"
  else
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    timeout 10 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
      sed "1,/^\r\{0,1\}$/d" <&3' _ "$1" "$2"
  fi
}

# The proxy's counters as one JSON object: `goma proxy status --json`, else the dashboard's /api/stats.
proxy_stats() {
  local j
  j=$("$GOMA" proxy status --json 2>/dev/null) || j=
  if [[ $j != *'"total"'* ]]; then j=$(http_get "$DASH_PORT" /api/stats 2>/dev/null) || j=; fi
  [[ $j == *'"total"'* ]] || return 1
  printf '%s\n' "$j" | tr -d '\n'
}
# stat_of JSON KEY → the number (0 when absent). The stats object is flat: no JSON parser needed.
stat_of() {
  local re="\"$2\"[[:space:]]*:[[:space:]]*([0-9]+)"
  if [[ $1 =~ $re ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

show_log_tail() {
  echo "---- last lines of $(rel "$1") ----" >&2
  tail -n "${2:-40}" "$1" >&2
  echo "----" >&2
}

# The last lines of each Buildbarn log (the started Buildbarn's, under $STATE/buildbarn/logs).
show_buildbarn_logs() {
  local f
  for f in "$STATE"/buildbarn/logs/*.log; do
    [ -f "$f" ] && show_log_tail "$f" 30
  done
  return 0
}

# Runs "$@" with stdout+stderr to log $1; on failure shows the log's tail and fails.
logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    show_log_tail "$log"
    die "failed: $* (log: $(rel "$log"))"
  fi
}

# The fallback reasons from the dashboard's /api/tasks (or the raw JSON if it is not what we expect).
print_fallback_reasons() {
  local tasks bun=$REPO/node_modules/.bin/bun
  tasks=$(http_get "$DASH_PORT" /api/tasks 2>/dev/null) || { echo "  (could not read /api/tasks)"; return 0; }
  if [ -x "$bun" ]; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    printf '%s' "$tasks" | "$bun" -e '
      const raw = await new Response(Bun.stdin.stream()).text();
      let j; try { j = JSON.parse(raw); } catch { console.log(raw.slice(0, 4000)); process.exit(0); }
      const list = Array.isArray(j) ? j : Array.isArray(j?.tasks) ? j.tasks : null;
      if (!list) { console.log(JSON.stringify(j, null, 2).slice(0, 4000)); process.exit(0); }
      const bad = list.filter((t) => /fallback|fail|error/i.test(JSON.stringify(t)));
      for (const t of bad.slice(0, 50)) console.log("  " + JSON.stringify(t));
      if (bad.length > 50) console.log(`  … and ${bad.length - 50} more`);
      if (bad.length === 0) console.log("  (no task in /api/tasks mentions a fallback or a failure)");
    ' || printf '%s\n' "${tasks:0:4000}"
  else
    printf '%s\n' "${tasks:0:4000}"
  fi
}

# Ensures the Debian packages the projects' builds need beyond scripts/setup.sh's (lua5.4's Debian build
# regenerates its libtool with autoreconf, and links lua5.4 against readline as Debian does).
ensure_build_deps() {
  local need=() p
  for p in autoconf automake libtool libreadline-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  say "installing ${need[*]} (needed by lua5.4's Debian build; not installed by scripts/setup.sh)"
  # Through setup's lock-waiting wrapper (scripts/lib/apt.sh): another apt/dpkg may hold the lock.
  source "$REPO/scripts/lib/apt.sh"
  GOMA_APT_WHO=main-job goma_apt update -qq || die "apt-get update failed (see above)"
  GOMA_APT_WHO=main-job goma_apt install -y -qq "${need[@]}" || die "installing ${need[*]} failed (see above)"
}

# ---- the projects' builds -------------------------------------------------------------------------------
# Called by build_<project> between configure and make: saves the proxy's counters to $STATE/make-start.json,
# so that the make phase's compiles can be told from configure's (whose test programs have per-run names,
# e.g. zlib's ztest$$.c, and so never hit the action cache).
mark_make_start() {
  rm -f "$STATE/make-start.json"
  if [ "$USE_GOMA" = 1 ]; then proxy_stats >"$STATE/make-start.json" || true; fi
}
# build_<project> TREE CC CXX LOG: configure and build TREE with the given compilers.

# zlib: its own ./configure (not autoconf), CFLAGS "-g -O2", then the default target (static and shared
# libraries plus the example and minigzip programs).
build_zlib() {
  local tree=$1 cc=$2 _cxx=$3 log=$4
  (
    cd "$tree"
    echo "+ CC='$cc' CFLAGS='-g -O2' ./configure"
    CC="$cc" CFLAGS="-g -O2" ./configure
    mark_make_start
    echo "+ make -j$JOBS"
    make -j"$JOBS"
  ) >"$log" 2>&1
}

# lua5.4: Debian's own build (debian/rules): a libtool generated from debian/configure.ac, then
# `make linux-readline` with LIBTOOL pointing at it, CC="<cc> -std=gnu99" and CXX; the flags come from
# dpkg-buildflags (-g -O2 -ffile-prefix-map=… -fstack-protector-strong …) inside src/Makefile. Every source
# file is compiled four times: C and C++ (with CXX), each PIC (.libs/x.o) and non-PIC (x.o).
build_lua5.4() {
  local tree=$1 cc=$2 cxx=$3 log=$4 multiarch
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
  (
    cd "$tree"
    echo "+ (debian/libtool) LIBTOOLIZE='libtoolize -i' autoreconf -f -i"
    mkdir -p debian/libtool
    cp debian/configure.ac debian/libtool/
    (cd debian/libtool && LIBTOOLIZE='libtoolize -i' autoreconf -f -i)
    echo "+ (debian/libtool) ./configure CC='$cc' CXX='$cxx'"
    (cd debian/libtool && ./configure CC="$cc" CXX="$cxx")
    printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "%s"\n#endif\n' \
      "$multiarch" >src/lua5.4-deb-multiarch.h
    mark_make_start
    # Objects in parallel (ALL=o: src/Makefile's target for every object), then the links serially:
    # `$(LUA_A): $(BASE_O)` names two libraries with one recipe, so under -j make may run it twice at
    # once and the two libtool links race on .libs/ (seen as "ar: unable to copy file").
    echo "+ make -j$JOBS linux-readline ALL=o MYLIBS= LIBTOOL=$tree/debian/libtool/libtool CC='$cc -std=gnu99' CXX='$cxx'"
    make -j"$JOBS" linux-readline ALL=o MYLIBS= LIBTOOL="$tree/debian/libtool/libtool" CC="$cc -std=gnu99" CXX="$cxx"
    echo "+ make linux-readline MYLIBS= LIBTOOL=$tree/debian/libtool/libtool CC='$cc -std=gnu99' CXX='$cxx'"
    make linux-readline MYLIBS= LIBTOOL="$tree/debian/libtool/libtool" CC="$cc -std=gnu99" CXX="$cxx"
  ) >"$log" 2>&1
}

# Replaces TREE with a fresh copy of the unpacked source SRC (same path every time).
fresh_tree() {
  local src=$1 tree=$2
  rm -rf "$tree"
  mkdir -p "$(dirname "$tree")"
  cp -a "$src" "$tree"
}

# The compiler outputs in TREE: ELF files named *.o or *.lo (libtool's text .lo files are not objects),
# outside debian/ (libtool's configure leftovers), as paths relative to TREE, sorted.
list_objects() {
  local tree=$1 f
  (
    cd "$tree"
    find . -path ./debian -prune -o -type f \( -name '*.o' -o -name '*.lo' \) -print | sed 's|^\./||' | LC_ALL=C sort |
      while IFS= read -r f; do
        if head -c 4 "$f" | cmp -s - <(printf '\177ELF'); then printf '%s\n' "$f"; fi
      done
  )
}

# (No `readelf | grep -q`: with pipefail, grep -q quitting early fails the pipeline when readelf gets SIGPIPE.)
has_debug_info() {
  local sections
  sections=$(readelf -S --wide "$1" 2>/dev/null) || return 1
  [[ $sections == *'.debug_info'* ]]
}

# ---- setup ---------------------------------------------------------------------------------------------
T_JOB=$(now)
if [ "$DO_SETUP" = 1 ]; then
  step "setup"
  bash "$REPO/scripts/setup.sh"
  if [ "$USE_GOMA" = 1 ]; then
    step "build dist/goma"
    bash "$REPO/scripts/build.sh"
  fi
fi
for t in gcc g++ make cmp readelf; do command -v "$t" >/dev/null || die "'$t' not found: run scripts/setup.sh"; done
case " ${PROJECTS[*]} " in *" lua5.4 "*) ensure_build_deps ;; esac
if [ "$USE_GOMA" = 1 ]; then
  [ -x "$GOMA" ] || die "$(rel "$GOMA") not found: run scripts/build.sh"
fi

step "fetch sources"
T0=$(now)
fetch_out=$(bash "$REPO/scripts/fetch-sources.sh" "${PROJECTS[@]}")
printf '%s\n' "$fetch_out"
say "sources ready in $(elapsed "$T0" "$(now)") s"
declare -A SRC
for p in "${PROJECTS[@]}"; do
  d=$(printf '%s\n' "$fetch_out" | sed -n "s|^$p: ||p" | tail -n1)
  [ -n "$d" ] || die "fetch-sources.sh did not report a directory for $p"
  [[ $d == /* ]] || d=$REPO/$d
  [ -d "$d" ] || die "$d does not exist"
  SRC[$p]=$d
done

mkdir -p "$LOGS" "$BUILD" "$OBJS"
say "state: $(rel "$STATE") (logs in $(rel "$LOGS"))"

# ---- server and proxy ----------------------------------------------------------------------------------
if [ "$USE_GOMA" = 1 ]; then
  if [ "$KEEP_CACHE" = 0 ]; then
    say "--fresh: emptying the server's and the proxy's caches"
    rm -rf "$STATE/server" "$STATE/proxy-cache"
  fi
  mkdir -p "$STATE/server" "$STATE/proxy-cache" "$STATE/tmp"
  chmod 700 "$STATE/tmp"

  # A server left running by an earlier run that was killed hard (its pid file says so).
  if [ -f "$STATE/server.pid" ]; then
    old=$(cat "$STATE/server.pid")
    old_cmd=
    if [[ $old =~ ^[0-9]+$ ]] && kill -0 "$old" 2>/dev/null; then old_cmd=$(tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null) || true; fi
    if [[ $old_cmd == *"server "*"--cache-dir $STATE/server"* ]]; then
      say "stopping the server left by an earlier run (pid $old)"
      kill -TERM "$old" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$STATE/server.pid"
  fi

  SERVER_ARGS=()
  if [ "$BACKEND" = buildbarn ]; then
    step "start Buildbarn (scripts/buildbarn/start.sh; the first start installs it, which takes minutes)"
    BB_STARTED=1 # from here on, cleanup stops it, also after a half-done start
    if ! REMOTEEXEC_ADDR=$(BB_ROOT=$STATE/buildbarn bash "$REPO/scripts/buildbarn/start.sh" --fresh \
      --instance-prefix "$INSTANCE_NAME" --workers "$BB_WORKERS" 2>"$LOGS/buildbarn-start.log"); then
      show_log_tail "$LOGS/buildbarn-start.log"
      die "Buildbarn did not start (log: $(rel "$LOGS/buildbarn-start.log"); its processes log to $(rel "$STATE/buildbarn/logs"))"
    fi
    say "Buildbarn ready at $REMOTEEXEC_ADDR, instance name prefix '$INSTANCE_NAME' (logs: $(rel "$STATE/buildbarn/logs"))"
  fi
  if [ -n "$REMOTEEXEC_ADDR" ]; then
    SERVER_ARGS=(--remoteexec-addr "$REMOTEEXEC_ADDR" --remote-instance-name "$INSTANCE_NAME")
  fi

  # shellcheck disable=SC2016 # the single quotes are literal text
  step "start goma server (backend: $BACKEND${REMOTEEXEC_ADDR:+ at $REMOTEEXEC_ADDR, instance name '$INSTANCE_NAME'})"
  for attempt in 1 2 3; do
    SERVER_PORT=$(free_port)
    server_log=$LOGS/server.log
    "$GOMA" server --port "$SERVER_PORT" --cache-dir "$STATE/server" "${SERVER_ARGS[@]}" >"$server_log" 2>&1 &
    SERVER_PID=$!
    echo "$SERVER_PID" >"$STATE/server.pid"
    ready=0
    for _ in $(seq 600); do # up to 60 s
      if grep -q "listening on http://127.0.0.1:$SERVER_PORT" "$server_log"; then ready=1; break; fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ "$ready" = 1 ] && break
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      show_log_tail "$server_log"
      die "the server (pid $SERVER_PID) did not report 'listening on http://127.0.0.1:$SERVER_PORT' within 60 s"
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    if grep -qi 'EADDRINUSE\|address already in use' "$server_log" && [ "$attempt" -lt 3 ]; then
      say "port $SERVER_PORT was taken meanwhile: trying another"
      continue
    fi
    show_log_tail "$server_log"
    die "the server exited before it was ready"
  done
  say "server pid $SERVER_PID listening on 127.0.0.1:$SERVER_PORT (log: $(rel "$server_log"))"

  DASH_PORT=$(free_port)
  export GOMA_SERVER_HOST=127.0.0.1 GOMA_SERVER_PORT=$SERVER_PORT GOMA_USE_SSL=false
  export GOMA_TMP_DIR=$STATE/tmp GOMA_CACHE_DIR=$STATE/proxy-cache GOMA_COMPILER_PROXY_PORT=$DASH_PORT
  unset GOMA_DISABLED GOMA_COMPILER_PROXY_SOCKET_NAME GOMA_PROJECT_SUFFIX

  step "start goma proxy"
  # A proxy left by an earlier run that was killed hard uses the same socket: stop it first.
  timeout 30 "$GOMA" proxy stop >"$LOGS/proxy-stop.log" 2>&1 || true
  PROXY_STARTED=1 # from here on, cleanup runs `goma proxy stop` even if start fails half-way
  logged "$LOGS/proxy-start.log" timeout 120 "$GOMA" proxy start
  say "proxy ready: socket $(rel "$GOMA_TMP_DIR")/goma.ipc, dashboard http://127.0.0.1:$DASH_PORT/"
  proxy_stats >/dev/null || die "cannot read the proxy's stats ('goma proxy status --json' nor /api/stats)"
fi

# ---- the projects --------------------------------------------------------------------------------------
FAILED=0
declare -A R_OBJS R_SAME R_NODEBUG R_REMOTE R_HIT R_FALLBACK R_LOCAL R_FAIL R_TGOMA R_TLOCAL R_SEEN R_HIT2 R_TGOMA2 R_MAKE_COMPILES

for p in "${PROJECTS[@]}"; do
  src=${SRC[$p]}
  tree=$BUILD/$p/$(basename "$src")
  if [ "$USE_GOMA" = 1 ]; then
    cc="$GOMA cc gcc" cxx="$GOMA cc g++" label=goma
  else
    cc=gcc cxx=g++ label=first
  fi

  step "$p: $label build in $(rel "$tree")"
  fresh_tree "$src" "$tree"
  before=
  if [ "$USE_GOMA" = 1 ]; then before=$(proxy_stats) || die "cannot read the proxy's stats"; fi
  T0=$(now)
  if ! "build_$p" "$tree" "$cc" "$cxx" "$LOGS/$p-$label.log"; then
    show_log_tail "$LOGS/$p-$label.log"
    die "$p: the $label build failed (log: $(rel "$LOGS/$p-$label.log"))"
  fi
  R_TGOMA[$p]=$(elapsed "$T0" "$(now)")
  say "$p: $label build took ${R_TGOMA[$p]} s (log: $(rel "$LOGS/$p-$label.log"))"
  if [ "$USE_GOMA" = 1 ]; then
    after=$(proxy_stats) || die "cannot read the proxy's stats"
    delta() { echo $(($(stat_of "$after" "$1") - $(stat_of "$before" "$1"))); }
    R_REMOTE[$p]=$(delta remote) R_HIT[$p]=$(delta cacheHit) R_FALLBACK[$p]=$(delta localFallback)
    R_LOCAL[$p]=$(delta local) R_FAIL[$p]=$(delta failed)
    make_start=$(cat "$STATE/make-start.json" 2>/dev/null) || make_start=
    [ -n "$make_start" ] || die "$p: the build did not record the proxy's counters before make"
    R_MAKE_COMPILES[$p]=$(($(stat_of "$after" remote) + $(stat_of "$after" cacheHit) - $(stat_of "$make_start" remote) - $(stat_of "$make_start" cacheHit)))
  else
    R_REMOTE[$p]=- R_HIT[$p]=- R_FALLBACK[$p]=- R_LOCAL[$p]=- R_FAIL[$p]=-
  fi

  # Save the objects aside, mirroring their paths.
  mapfile -t objs < <(list_objects "$tree")
  [ ${#objs[@]} -gt 0 ] || die "$p: the $label build produced no object file"
  rm -rf "${OBJS:?}/$p"
  mkdir -p "$OBJS/$p"
  (cd "$tree" && printf '%s\0' "${objs[@]}" | xargs -0 cp --parents -p -t "$OBJS/$p")
  printf '%s\n' "${objs[@]}" >"$OBJS/$p.list"
  say "$p: saved ${#objs[@]} objects to $(rel "$OBJS/$p")"

  if [ "$USE_GOMA" = 1 ] && [ "$TWICE" = 1 ]; then
    # A second clean build through goma: the backend's action cache must serve every compile.
    step "$p: second goma build in $(rel "$tree") (every compile from the action cache)"
    fresh_tree "$src" "$tree"
    before=$(proxy_stats) || die "cannot read the proxy's stats"
    T0=$(now)
    if ! "build_$p" "$tree" "$cc" "$cxx" "$LOGS/$p-goma2.log"; then
      show_log_tail "$LOGS/$p-goma2.log"
      die "$p: the second goma build failed (log: $(rel "$LOGS/$p-goma2.log"))"
    fi
    R_TGOMA2[$p]=$(elapsed "$T0" "$(now)")
    after=$(proxy_stats) || die "cannot read the proxy's stats"
    before=$(cat "$STATE/make-start.json" 2>/dev/null) || die "$p: the build did not record the proxy's counters before make"
    compiles=${R_MAKE_COMPILES[$p]}
    hits2=$(delta cacheHit) remote2=$(delta remote) fallback2=$(delta localFallback) fail2=$(delta failed)
    R_HIT2[$p]="$hits2/$compiles"
    say "$p: second goma build took ${R_TGOMA2[$p]} s; its make phase: $hits2 action-cache hits, $remote2 remote, $fallback2 fallbacks, $fail2 failed (log: $(rel "$LOGS/$p-goma2.log"))"
    if [ "$hits2" -ne "$compiles" ] || [ "$remote2" -ne 0 ] || [ "$fallback2" -ne 0 ] || [ "$fail2" -ne 0 ]; then
      echo "$p: the second goma build's make phase was not served entirely from the action cache ($hits2 hits for $compiles compiles, $remote2 remote, $fallback2 fallbacks, $fail2 failed)"
      FAILED=1
    fi
    mapfile -t objs2 < <(list_objects "$tree")
    diff2=()
    for o in "${objs[@]}"; do cmp -s "$OBJS/$p/$o" "$tree/$o" 2>/dev/null || diff2+=("$o"); done
    [ ${#objs2[@]} -eq ${#objs[@]} ] || diff2+=("(${#objs2[@]} objects, the first build had ${#objs[@]})")
    if [ ${#diff2[@]} -gt 0 ]; then
      echo "$p: objects of the second goma build that differ from the first's (${#diff2[@]}):"
      printf '  %s\n' "${diff2[@]}"
      FAILED=1
    else
      echo "$p: second goma build: identical: ${#objs[@]}/${#objs[@]} objects"
    fi
  fi

  step "$p: local build (gcc) at the same path"
  fresh_tree "$src" "$tree"
  T0=$(now)
  if ! "build_$p" "$tree" gcc g++ "$LOGS/$p-local.log"; then
    show_log_tail "$LOGS/$p-local.log"
    die "$p: the local build failed (log: $(rel "$LOGS/$p-local.log"))"
  fi
  R_TLOCAL[$p]=$(elapsed "$T0" "$(now)")
  say "$p: local build took ${R_TLOCAL[$p]} s (log: $(rel "$LOGS/$p-local.log"))"

  # Compare: the same set of objects, each identical byte for byte, each with debug info.
  mapfile -t local_objs < <(list_objects "$tree")
  same=0 diff=() nodebug=()
  for o in "${objs[@]}"; do
    if [ ! -f "$tree/$o" ]; then
      diff+=("$o (missing from the local build)")
    elif cmp -s "$OBJS/$p/$o" "$tree/$o"; then
      same=$((same + 1))
    else
      diff+=("$o")
    fi
    has_debug_info "$OBJS/$p/$o" || nodebug+=("$o")
  done
  for o in "${local_objs[@]}"; do
    [ -f "$OBJS/$p/$o" ] || diff+=("$o (only in the local build)")
  done
  total=${#objs[@]}
  echo "$p: identical: $same/$total objects"
  if [ ${#diff[@]} -gt 0 ]; then
    echo "$p: differing objects (${#diff[@]}):"
    printf '  %s\n' "${diff[@]}"
    FAILED=1
  fi
  if [ ${#nodebug[@]} -gt 0 ]; then
    echo "$p: objects without debug info (.debug_info) (${#nodebug[@]}):"
    printf '  %s\n' "${nodebug[@]}"
    FAILED=1
  fi
  R_OBJS[$p]=$total R_SAME[$p]=$same R_NODEBUG[$p]=${#nodebug[@]}
  if [ "$USE_GOMA" = 1 ]; then
    R_SEEN[$p]=$((R_REMOTE[$p] + R_HIT[$p] + R_FALLBACK[$p] + R_FAIL[$p]))
  else
    R_SEEN[$p]=-
  fi
done

# ---- summary -------------------------------------------------------------------------------------------
step "summary (backend: $BACKEND$([ "$USE_GOMA" = 1 ] || echo ", --no-goma: both builds with plain gcc"))"
printf '%-8s %9s %7s %8s %10s %9s %8s %9s %8s %9s\n' project identical remote cacheHit fallbacks "local" failed "goma s" "local s" debuginfo
for p in "${PROJECTS[@]}"; do
  printf '%-8s %9s %7s %8s %10s %9s %8s %9s %8s %9s\n' "$p" "${R_SAME[$p]}/${R_OBJS[$p]}" "${R_REMOTE[$p]}" "${R_HIT[$p]}" \
    "${R_FALLBACK[$p]}" "${R_LOCAL[$p]}" "${R_FAIL[$p]}" "${R_TGOMA[$p]}" "${R_TLOCAL[$p]}" \
    "$((R_OBJS[$p] - R_NODEBUG[$p]))/${R_OBJS[$p]}"
done
# The Debian source versions built (fetch-sources.sh records the one it took beside the unpacked tree).
vers=()
for p in "${PROJECTS[@]}"; do
  v=$(sed -n 2p "$(dirname "${SRC[$p]}")/.goma-fetched" 2>/dev/null || true)
  vers+=("$p ${v:-(version not recorded)}")
done
echo "sources built (Debian source packages): $(IFS=,; echo "${vers[*]}" | sed 's/,/, /g')"
echo "(remote: compiled remotely; cacheHit: action cache or proxy output cache; fallbacks: fell back to local"
echo " compiles; local: not remotable by nature, e.g. links; times: configure + make, wall seconds)"
if [ "$USE_GOMA" = 1 ] && [ "$TWICE" = 1 ]; then
  for p in "${PROJECTS[@]}"; do
    echo "$p: second goma build: ${R_HIT2[$p]:-?} make-phase compiles from the action cache, ${R_TGOMA2[$p]:-?} s"
  done
fi

if [ "$USE_GOMA" = 1 ]; then
  fallbacks=0
  for p in "${PROJECTS[@]}"; do
    if [ "${R_FALLBACK[$p]}" -gt 0 ] || [ "${R_FAIL[$p]}" -gt 0 ]; then
      echo "$p: ${R_FALLBACK[$p]} compile(s) fell back to local, ${R_FAIL[$p]} failed in goma"
      fallbacks=1
      FAILED=1
    fi
    if [ "${R_SEEN[$p]}" -lt "${R_OBJS[$p]}" ]; then
      echo "$p: the proxy saw ${R_SEEN[$p]} compiles for ${R_OBJS[$p]} objects: some compiles never reached it (goma cc compiles locally, untracked, when it cannot reach the proxy)"
      FAILED=1
    fi
  done
  if [ "$fallbacks" = 1 ]; then
    echo "fallback and failure reasons (from /api/tasks):"
    print_fallback_reasons
  fi
fi

say "total time $(elapsed "$T_JOB" "$(now)") s"
if [ "$FAILED" = 1 ]; then
  say "FAILED"
  exit 1
fi
say "OK"
