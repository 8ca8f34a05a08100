#!/usr/bin/env bash
# Says which Buildbarn processes of BB_ROOT run, whether each answers /-/healthy, and how clients reach it.
#
#   bash scripts/buildbarn/status.sh
#
# Exit status: 0 when every component of the last start runs and is healthy, 1 when some do, 3 when none do.
set -euo pipefail
# shellcheck source=scripts/buildbarn/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! bb_load_settings 2>/dev/null; then
  echo "buildbarn: never started under $BB_ROOT"
  exit 3
fi
up=0 down=0
expected=("${BB_COMPONENTS[@]}")
[ "$BB_WITH_SCHEDULER" = 1 ] || expected=(storage)
for c in "${expected[@]}"; do
  pid=$(bb_pid "$c")
  if [ -n "$pid" ]; then
    if bb_healthy "$(bb_diag_port "$c")"; then h=healthy; up=$((up + 1)); else h="not healthy"; down=$((down + 1)); fi
    printf '%-10s running, pid %s, %s (log %s)\n' "$c" "$pid" "$h" "$BB_ROOT/logs/$c.log"
  else
    printf '%-10s stopped\n' "$c"
    down=$((down + 1))
  fi
done
echo "frontend: 127.0.0.1:$BB_FRONTEND_PORT (goma server --remoteexec-addr 127.0.0.1:$BB_FRONTEND_PORT --remote-instance-name ${BB_INSTANCE_PREFIX:-''})"
[ "$BB_WITH_SCHEDULER" = 1 ] || echo "cache only (--storage-only): no scheduler, no worker"
echo "workers: ${BB_WORKERS:-1}, instance name prefix '$BB_INSTANCE_PREFIX', platform $BB_WORKER_PLATFORM_JSON"
[ "$BB_WITH_SCHEDULER" = 0 ] || echo "scheduler: BuildQueueState gRPC 127.0.0.1:${BB_BUILD_QUEUE_STATE_PORT:-?} (goma doctor --buildbarn-scheduler), web UI http://127.0.0.1:$BB_SCHEDULER_ADMIN_PORT/"
[ "$up" -gt 0 ] || exit 3
[ "$down" -eq 0 ] || exit 1
