# shellcheck shell=bash disable=SC2034
# Shared by start.sh, stop.sh and status.sh (sourced, not run). Defines the state layout under BB_ROOT:
#   $BB_ROOT/settings   the settings start.sh was given (sourced by stop.sh, status.sh and later starts)
#   $BB_ROOT/pids/C.pid the pid of component C (storage, scheduler, runner, worker, runner2, worker2, …)
#   $BB_ROOT/logs/C.log everything component C printed
#   $BB_ROOT/storage/   CAS and action cache (sparse files)
#   $BB_ROOT/worker/    worker 1's build and cache directories, file pool and runner socket; worker K's
#                       (start.sh --workers N) are in $BB_ROOT/workerK/
# BB_ROOT defaults to <repo>/.cache/buildbarn.
# Worker K is the pair bb_worker + bb_runner named workerK/runnerK ("worker"/"runner" for K = 1).

BB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BB_REPO=$(cd "$BB_SCRIPTS/../.." && pwd)
BB_ROOT=${BB_ROOT:-$BB_REPO/.cache/buildbarn}
# The most workers one BB_ROOT can have: their diagnostics ports must stay inside the port offset's block.
BB_MAX_WORKERS=6

# bb_components N → the start order for N workers: storage scheduler runner worker runner2 worker2 …
bb_components() {
  local k out=(storage scheduler runner worker)
  for ((k = 2; k <= ${1:-1}; k++)); do out+=("runner$k" "worker$k"); done
  echo "${out[*]}"
}
# Start order; stop.sh goes the other way. (Re)set by bb_load_settings from the settings' BB_WORKERS.
read -r -a BB_COMPONENTS <<<"$(bb_components 1)"

# bb_is_component C: true when C names a component (storage, scheduler, runnerK, workerK with K ≤ the maximum).
bb_is_component() {
  [[ $1 =~ ^(storage|scheduler|runner|worker)$ ]] && return 0
  [[ $1 =~ ^(runner|worker)([2-9][0-9]*)$ ]] && [ "${BASH_REMATCH[2]}" -le "$BB_MAX_WORKERS" ]
}

# bb_kind C → storage, scheduler, runner or worker (the binary and config C runs); bb_index C → K of
# workerK/runnerK (1 for worker, runner).
bb_kind() { local k=${1%%[0-9]*}; echo "$k"; }
bb_index() { local n=${1##*[a-z]}; echo "${n:-1}"; }
# bb_worker_dir K → worker K's directory (build, cache, file pool, runner socket).
bb_worker_dir() { if [ "$1" = 1 ]; then echo "$BB_ROOT/worker"; else echo "$BB_ROOT/worker$1"; fi; }

bb_say() { echo "buildbarn: $*" >&2; }
bb_die() { echo "buildbarn: error: $*" >&2; exit 1; }

bb_binary() { echo "bb_$(bb_kind "$1")"; }

# bb_pid C → the pid of component C when it runs (and is the Buildbarn binary of this BB_ROOT), else nothing.
bb_pid() {
  local f=$BB_ROOT/pids/$1.pid pid cmd
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # Guard against a reused pid: the process must be bb_<kind> with its config, in this root, started as C.
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ $cmd == *"$(bb_binary "$1") "*"$(bb_kind "$1").jsonnet"* ]] || return 0
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$BB_ROOT" ] || return 0
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "BB_COMPONENT=$1" || return 0
  echo "$pid"
}

# bb_alive PID: true while process PID exists and is not a zombie (exited, not yet reaped).
bb_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
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

# bb_diag_port C → the diagnostics port of component C (needs the settings loaded). Worker 1 and its runner
# use 9986 and 9987; worker K ≥ 2 uses 6980 + 2(K-2), its runner the port after (plus the port offset).
bb_diag_port() {
  local k
  case $1 in
    storage) echo "$BB_STORAGE_DIAG_PORT" ;;
    scheduler) echo "$BB_SCHEDULER_DIAG_PORT" ;;
    worker) echo "$BB_WORKER_DIAG_PORT" ;;
    runner) echo "$BB_RUNNER_DIAG_PORT" ;;
    worker*) k=$(bb_index "$1"); echo $((6980 + BB_PORT_OFFSET + 2 * (k - 2))) ;;
    runner*) k=$(bb_index "$1"); echo $((6981 + BB_PORT_OFFSET + 2 * (k - 2))) ;;
  esac
}

# bb_load_settings: the settings of the last start.sh under BB_ROOT (exported: the binaries read them).
bb_load_settings() {
  [ -f "$BB_ROOT/settings" ] || return 1
  set -a
  # shellcheck disable=SC1091
  . "$BB_ROOT/settings"
  set +a
  read -r -a BB_COMPONENTS <<<"$(bb_components "${BB_WORKERS:-1}")"
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
