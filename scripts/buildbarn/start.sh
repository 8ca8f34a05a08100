#!/usr/bin/env bash
# Starts a single-host Buildbarn for goma's integration tests: bb_storage (CAS, action cache and the frontend
# clients talk to), bb_scheduler, bb_runner and bb_worker (native build directory), all on 127.0.0.1, with
# state under BB_ROOT (default <repo>/.cache/buildbarn). Returns once every process it started answers
# /-/healthy on its diagnostics port; on failure it shows the logs, stops what it started and exits non-zero.
#
#   bash scripts/buildbarn/start.sh [options] [COMPONENT…]
#                           (components: storage scheduler runner worker, and runnerK workerK for K ≥ 2)
#
#   --workers N             N bb_worker + bb_runner pairs behind the one scheduler (env BB_WORKERS; default 1,
#                           at most 6), each with its own build directory, file pool, runner socket and
#                           diagnostics ports, the same instance name prefix and platform, and worker id
#                           {"host":"localhost","worker":"goma-test-K"} (what ActionResult.execution_metadata
#                           .worker names). Worker 1 is the pair "runner"/"worker", worker K "runnerK"/"workerK"
#   --instance-prefix NAME  the worker's instance name prefix (env BB_INSTANCE_PREFIX; default '' = every
#                           instance name); e.g. hardlinking, as bb-deployments' native worker
#   --platform KEY=VALUE    a property of the worker's platform, repeatable (env BB_WORKER_PLATFORM, comma
#                           separated; default OSFamily=linux). Clients' Action.platform must equal it exactly
#   --port-offset N         added to every port (env BB_PORT_OFFSET; default 0): frontend 8980, scheduler
#                           8982 (clients) 8983 (workers) 8984 (BuildQueueState gRPC) 7982 (web UI),
#                           diagnostics 9980 9982 9986 9987, and for worker K ≥ 2 6980+2(K-2), 6981+2(K-2)
#   --no-workers-timeout D  how long after the scheduler starts an unknown platform is UNAVAILABLE rather than
#                           FAILED_PRECONDITION (env BB_NO_WORKERS_TIMEOUT; default 15s)
#   --storage-only          start bb_storage alone (a cache-only REAPI service; Execute is UNAVAILABLE)
#   --fresh                 empty BB_ROOT's storage and worker directories first
#
# Naming components starts only those, with the settings of the last full start (e.g. `start.sh worker`).
# Binaries come from BB_BIN, else from scripts/buildbarn/install.sh (cached after the first install).
# Prints the frontend address (what `goma server --remoteexec-addr` wants) as its only line on stdout.
set -euo pipefail
# shellcheck source=scripts/buildbarn/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PLATFORM=${BB_WORKER_PLATFORM:-}
PREFIX=${BB_INSTANCE_PREFIX-}
PREFIX_SET=${BB_INSTANCE_PREFIX+1}
OFFSET=${BB_PORT_OFFSET:-}
WORKERS=${BB_WORKERS:-}
NO_WORKERS_TIMEOUT=${BB_NO_WORKERS_TIMEOUT:-}
STORAGE_ONLY=0
FRESH=0
WANT=()
while [ $# -gt 0 ]; do
  case $1 in
    --instance-prefix) [ $# -ge 2 ] || bb_die "$1 needs a value"; PREFIX=$2; PREFIX_SET=1; shift 2 ;;
    --instance-prefix=*) PREFIX=${1#*=}; PREFIX_SET=1; shift ;;
    --platform) [ $# -ge 2 ] || bb_die "$1 needs a value"; PLATFORM=${PLATFORM:+$PLATFORM,}$2; shift 2 ;;
    --platform=*) PLATFORM=${PLATFORM:+$PLATFORM,}${1#*=}; shift ;;
    --port-offset) [ $# -ge 2 ] || bb_die "$1 needs a value"; OFFSET=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || bb_die "$1 needs a value"; WORKERS=$2; shift 2 ;;
    --workers=*) WORKERS=${1#*=}; shift ;;
    --port-offset=*) OFFSET=${1#*=}; shift ;;
    --no-workers-timeout) [ $# -ge 2 ] || bb_die "$1 needs a value"; NO_WORKERS_TIMEOUT=$2; shift 2 ;;
    --no-workers-timeout=*) NO_WORKERS_TIMEOUT=${1#*=}; shift ;;
    --storage-only) STORAGE_ONLY=1; shift ;;
    --fresh) FRESH=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) bb_die "unknown option '$1' (see --help)" ;;
    *) bb_is_component "$1" || bb_die "unknown component '$1' (storage scheduler runner worker, runnerK workerK for 2 ≤ K ≤ $BB_MAX_WORKERS)"
      WANT+=("$1"); shift ;;
  esac
done

mkdir -p "$BB_ROOT"
BB_ROOT=$(cd "$BB_ROOT" && pwd)
mkdir -p "$BB_ROOT/pids" "$BB_ROOT/logs"

if [ ${#WANT[@]} -gt 0 ] && [ -f "$BB_ROOT/settings" ]; then
  # Restarting some components: keep the settings of the last full start unless overridden now.
  prev_prefix=$(bash -c '. "$1"; printf %s "$BB_INSTANCE_PREFIX"' _ "$BB_ROOT/settings")
  prev_platform=$(bash -c '. "$1"; printf %s "$BB_WORKER_PLATFORM"' _ "$BB_ROOT/settings")
  prev_offset=$(bash -c '. "$1"; printf %s "$BB_PORT_OFFSET"' _ "$BB_ROOT/settings")
  prev_timeout=$(bash -c '. "$1"; printf %s "$BB_NO_WORKERS_TIMEOUT"' _ "$BB_ROOT/settings")
  prev_workers=$(bash -c '. "$1"; printf %s "${BB_WORKERS:-1}"' _ "$BB_ROOT/settings")
  if [ "$(bash -c '. "$1"; printf %s "$BB_WITH_SCHEDULER"' _ "$BB_ROOT/settings")" = 0 ]; then STORAGE_ONLY=1; fi
  [ -n "$PREFIX_SET" ] || PREFIX=$prev_prefix
  [ -n "$PLATFORM" ] || PLATFORM=$prev_platform
  [ -n "$OFFSET" ] || OFFSET=$prev_offset
  [ -n "$NO_WORKERS_TIMEOUT" ] || NO_WORKERS_TIMEOUT=$prev_timeout
  [ -n "$WORKERS" ] || WORKERS=$prev_workers
fi
PLATFORM=${PLATFORM:-OSFamily=linux}
OFFSET=${OFFSET:-0}
NO_WORKERS_TIMEOUT=${NO_WORKERS_TIMEOUT:-15s}
WORKERS=${WORKERS:-1}
[[ $OFFSET =~ ^[0-9]+$ ]] || bb_die "--port-offset wants a number, got '$OFFSET'"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] && [ "$WORKERS" -le "$BB_MAX_WORKERS" ] || bb_die "--workers wants a number from 1 to $BB_MAX_WORKERS, got '$WORKERS'"
for c in "${WANT[@]}"; do
  [ "$(bb_index "$c")" -le "$WORKERS" ] || bb_die "component '$c' does not exist with $WORKERS worker(s) (--workers)"
done
[[ $PREFIX != /* && $PREFIX != */ && $PREFIX != *//* ]] || bb_die "instance name prefix '$PREFIX' has a leading, trailing or double slash"
if [ ${#WANT[@]} -eq 0 ]; then
  if [ "$STORAGE_ONLY" = 1 ]; then WANT=(storage); else read -r -a WANT <<<"$(bb_components "$WORKERS")"; fi
fi

# The worker's platform as a JSON array sorted by name, then value (what Buildbarn requires).
json_escape() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s"; }
platform_json=
while IFS= read -r kv; do
  [ -n "$kv" ] || continue
  [[ $kv == ?*=* ]] || bb_die "platform property '$kv' is not KEY=VALUE"
  platform_json+="${platform_json:+,}{\"name\":\"$(json_escape "${kv%%=*}")\",\"value\":\"$(json_escape "${kv#*=}")\"}"
done < <(printf '%s\n' "$PLATFORM" | tr ',' '\n' | LC_ALL=C sort -t= -k1,1 -k2)

{
  printf 'BB_ROOT=%q\nBB_INSTANCE_PREFIX=%q\nBB_WORKER_PLATFORM=%q\nBB_WORKER_PLATFORM_JSON=%q\n' \
    "$BB_ROOT" "$PREFIX" "$PLATFORM" "[$platform_json]"
  printf 'BB_NO_WORKERS_TIMEOUT=%q\nBB_PORT_OFFSET=%q\nBB_WITH_SCHEDULER=%q\nBB_WORKERS=%q\n' "$NO_WORKERS_TIMEOUT" "$OFFSET" "$((1 - STORAGE_ONLY))" "$WORKERS"
  printf 'BB_FRONTEND_PORT=%s\nBB_SCHEDULER_CLIENT_PORT=%s\nBB_SCHEDULER_WORKER_PORT=%s\nBB_SCHEDULER_ADMIN_PORT=%s\n' \
    $((8980 + OFFSET)) $((8982 + OFFSET)) $((8983 + OFFSET)) $((7982 + OFFSET))
  printf 'BB_BUILD_QUEUE_STATE_PORT=%s\n' $((8984 + OFFSET))
  printf 'BB_STORAGE_DIAG_PORT=%s\nBB_SCHEDULER_DIAG_PORT=%s\nBB_WORKER_DIAG_PORT=%s\nBB_RUNNER_DIAG_PORT=%s\n' \
    $((9980 + OFFSET)) $((9982 + OFFSET)) $((9986 + OFFSET)) $((9987 + OFFSET))
} >"$BB_ROOT/settings"
bb_load_settings

if [ -z "${BB_BIN:-}" ]; then
  install_args=()
  only_storage=1
  for c in "${WANT[@]}"; do [ "$c" = storage ] || only_storage=0; done
  if [ "$only_storage" = 1 ]; then install_args+=(--storage-only); fi
  BB_BIN=$(bash "$BB_SCRIPTS/install.sh" "${install_args[@]}")
fi
for c in "${WANT[@]}"; do
  [ -x "$BB_BIN/$(bb_binary "$c")" ] || bb_die "$BB_BIN/$(bb_binary "$c") is not installed (scripts/buildbarn/install.sh)"
done

STARTED=()
fail() {
  echo "buildbarn: error: $*" >&2
  bb_tail_logs "${STARTED[@]}"
  if [ ${#STARTED[@]} -gt 0 ]; then BB_ROOT=$BB_ROOT bash "$BB_SCRIPTS/stop.sh" "${STARTED[@]}" >&2 || true; fi
  exit 1
}

for c in "${WANT[@]}"; do
  if pid=$(bb_pid "$c") && [ -n "$pid" ]; then
    bb_say "$c already runs (pid $pid)"
    continue
  fi
  k=$(bb_index "$c")
  wdir=$(bb_worker_dir "$k")
  case $c in
    storage)
      if [ "$FRESH" = 1 ]; then rm -rf "$BB_ROOT/storage"; fi
      mkdir -p "$BB_ROOT/storage/cas" "$BB_ROOT/storage/ac" ;;
    worker*)
      # Leftovers of an earlier run: action directories are read-only, so make them writable first.
      if [ -d "$wdir/build" ] || [ -d "$wdir/cache" ]; then
        chmod -R u+w "$wdir/build" "$wdir/cache" 2>/dev/null || true
        rm -rf "$wdir/build" "$wdir/cache"
      fi
      if [ "$FRESH" = 1 ]; then rm -f "$wdir/filepool"; fi
      mkdir -p "$wdir/build" "$wdir/cache" ;;
    runner*) mkdir -p "$wdir/build" ;;
  esac
  # Each process gets its own session (no terminal signals) and runs in BB_ROOT; Buildbarn evaluates the
  # config with every environment variable as a Jsonnet external variable: BB_COMPONENT (also how bb_pid
  # recognises the process), and for a worker or runner its directory, id and diagnostics port.
  (
    cd "$BB_ROOT"
    export BB_COMPONENT=$c BB_WORKER_DIR=$wdir BB_WORKER_ID=goma-test-$k BB_COMPONENT_DIAG_PORT
    BB_COMPONENT_DIAG_PORT=$(bb_diag_port "$c")
    exec setsid "$BB_BIN/$(bb_binary "$c")" "$BB_SCRIPTS/config/$(bb_kind "$c").jsonnet" </dev/null >>"$BB_ROOT/logs/$c.log" 2>&1
  ) &
  echo $! >"$BB_ROOT/pids/$c.pid"
  STARTED+=("$c")
  bb_say "started $c (pid $!, log $BB_ROOT/logs/$c.log)"
done

# Wait until every process started here answers /-/healthy: 0.2 s apart, at most 60 s in all.
for c in "${STARTED[@]}"; do
  port=$(bb_diag_port "$c")
  ok=0
  started_pid=$(cat "$BB_ROOT/pids/$c.pid")
  for _ in $(seq 300); do
    # The pid of the subshell that execs the component: bb_pid would not know it yet while that exec is
    # still on its way (a loaded machine), so only its end (gone, or a zombie) counts as an exit here.
    bb_alive "$started_pid" || fail "$c exited during start-up"
    if bb_healthy "$port"; then ok=1; break; fi
    sleep 0.2
  done
  [ "$ok" = 1 ] || fail "$c did not answer http://127.0.0.1:$port/-/healthy within 60 s"
done
# A scheduler started here knows no worker until each worker's first synchronization, a moment after
# /-/healthy: wait until its metrics count every worker thread started here (2 per worker, worker.jsonnet's
# concurrency), so that the first Execute finds them ("No workers exist" otherwise). 0.2 s apart, 60 s at most.
threads=0
sched_started=0
for c in "${STARTED[@]}"; do
  case $c in worker*) threads=$((threads + 2)) ;; scheduler) sched_started=1 ;; esac
done
if [ "$sched_started" = 1 ] && [ "$threads" -gt 0 ] && command -v curl >/dev/null 2>&1; then
  registered=0
  for _ in $(seq 300); do
    registered=$(curl -fsS --max-time 2 "http://127.0.0.1:$BB_SCHEDULER_DIAG_PORT/metrics" 2>/dev/null |
      awk '/^buildbarn_builder_in_memory_build_queue_workers_created_total/ { n += $NF } /^buildbarn_builder_in_memory_build_queue_workers_removed_total/ { n -= $NF } END { print n + 0 }')
    [ "${registered:-0}" -ge "$threads" ] && break
    sleep 0.2
  done
  [ "${registered:-0}" -ge "$threads" ] || fail "the scheduler knows $registered of the $threads worker threads started, 60 s after start-up"
fi
bb_say "ready: frontend 127.0.0.1:$BB_FRONTEND_PORT, $BB_WORKERS worker(s), instance name prefix '$BB_INSTANCE_PREFIX', worker platform $BB_WORKER_PLATFORM_JSON, BuildQueueState 127.0.0.1:$BB_BUILD_QUEUE_STATE_PORT"
echo "127.0.0.1:$BB_FRONTEND_PORT"
