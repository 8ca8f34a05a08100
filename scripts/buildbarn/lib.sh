# shellcheck shell=bash disable=SC2034
# Shared by start.sh, stop.sh and status.sh (sourced, not run). Defines the state layout under BB_ROOT:
#   $BB_ROOT/settings   the settings start.sh was given (sourced by stop.sh, status.sh and later starts)
#   $BB_ROOT/pids/C.pid the pid of component C (storage, scheduler, runner, worker)
#   $BB_ROOT/logs/C.log everything component C printed
#   $BB_ROOT/storage/   CAS and action cache (sparse files); $BB_ROOT/worker/: build and cache directories
# BB_ROOT defaults to <repo>/.cache/buildbarn.

BB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BB_REPO=$(cd "$BB_SCRIPTS/../.." && pwd)
BB_ROOT=${BB_ROOT:-$BB_REPO/.cache/buildbarn}
# Start order; stop.sh goes the other way.
BB_COMPONENTS=(storage scheduler runner worker)

bb_say() { echo "buildbarn: $*" >&2; }
bb_die() { echo "buildbarn: error: $*" >&2; exit 1; }

bb_binary() { echo "bb_$1"; }

# bb_pid C → the pid of component C when it runs (and is the Buildbarn binary of this BB_ROOT), else nothing.
bb_pid() {
  local f=$BB_ROOT/pids/$1.pid pid cmd
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # Guard against a reused pid: the process must be bb_<C> with this root's config.
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ $cmd == *"$(bb_binary "$1") "*"$1.jsonnet"* ]] || return 0
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$BB_ROOT" ] || return 0
  echo "$pid"
}

# bb_healthy PORT: true when the diagnostics server on PORT answers /-/healthy with 200.
bb_healthy() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$1/-/healthy" 2>/dev/null
  else
    # shellcheck disable=SC2016 # the inner script expands its own argument
    timeout 2 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "GET /-/healthy HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
      head -n1 <&3 | grep -q " 200"' _ "$1" 2>/dev/null
  fi
}

# bb_diag_port C → the diagnostics port of component C (needs the settings loaded).
bb_diag_port() {
  case $1 in
    storage) echo "$BB_STORAGE_DIAG_PORT" ;;
    scheduler) echo "$BB_SCHEDULER_DIAG_PORT" ;;
    worker) echo "$BB_WORKER_DIAG_PORT" ;;
    runner) echo "$BB_RUNNER_DIAG_PORT" ;;
  esac
}

# bb_load_settings: the settings of the last start.sh under BB_ROOT (exported: the binaries read them).
bb_load_settings() {
  [ -f "$BB_ROOT/settings" ] || return 1
  set -a
  # shellcheck disable=SC1091
  . "$BB_ROOT/settings"
  set +a
}

# bb_tail_logs [C…]: the last lines of each component's log, for a failing start or test.
bb_tail_logs() {
  local c
  for c in "$@"; do
    [ -f "$BB_ROOT/logs/$c.log" ] || continue
    echo "---- last lines of $BB_ROOT/logs/$c.log ----" >&2
    tail -n 30 "$BB_ROOT/logs/$c.log" >&2
  done
}
