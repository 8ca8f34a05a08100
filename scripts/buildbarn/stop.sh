#!/usr/bin/env bash
# Stops the Buildbarn processes that scripts/buildbarn/start.sh started under BB_ROOT, by their pid files
# (a pid is only signalled while it is still that component's binary running in BB_ROOT): SIGTERM, then
# SIGKILL after 10 s. Components stop in reverse start order.
#
#   bash scripts/buildbarn/stop.sh [COMPONENT…]          (default: all, e.g. worker2 runner2 worker runner
#                                                        scheduler storage)
set -euo pipefail
# shellcheck source=scripts/buildbarn/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -d "$BB_ROOT" ]; then BB_ROOT=$(cd "$BB_ROOT" && pwd); fi
bb_load_settings 2>/dev/null || true
WANT=()
for a in "$@"; do
  case $a in
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) bb_is_component "$a" || bb_die "unknown component '$a' (storage scheduler runner worker, runnerK workerK)"
      WANT+=("$a") ;;
  esac
done
# Reverse start order; pid files of workers beyond the settings' count (an earlier --workers) too.
ORDER=()
for f in "$BB_ROOT"/pids/worker[0-9]*.pid "$BB_ROOT"/pids/runner[0-9]*.pid; do
  [ -f "$f" ] || continue
  c=$(basename "$f" .pid)
  bb_is_component "$c" && [[ " ${BB_COMPONENTS[*]} " != *" $c "* ]] && ORDER+=("$c")
done
for ((i = ${#BB_COMPONENTS[@]} - 1; i >= 0; i--)); do ORDER+=("${BB_COMPONENTS[i]}"); done

for c in "${ORDER[@]}"; do
  if [ ${#WANT[@]} -gt 0 ] && [[ " ${WANT[*]} " != *" $c "* ]]; then continue; fi
  pid=$(bb_pid "$c")
  if [ -z "$pid" ]; then
    rm -f "$BB_ROOT/pids/$c.pid"
    continue
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    bb_say "$c (pid $pid) ignored SIGTERM for 10 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$BB_ROOT/pids/$c.pid"
  bb_say "stopped $c (pid $pid)"
done
