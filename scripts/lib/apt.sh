# shellcheck shell=bash
# goma_apt ARGS…: `apt-get ARGS…` (as root, through sudo otherwise; noninteractive) that waits for another
# apt or dpkg process (unattended-upgrades, a second setup) to release its lock, bounded by
# GOMA_APT_LOCK_TIMEOUT seconds (default 600), instead of quitting at once with "Could not get lock".
# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout); apt 2.6's `update` ignores that option for
# the lists lock, so a locked run is also retried every 2 s until the same bound. On failure it prints
# apt-get's output and one line: the lock's holder outlasted the bound, or apt-get ARGS failed. Its output
# goes to stderr only on failure. GOMA_APT_WHO names the caller in its messages (default "setup").
# Sourced by scripts/setup.sh and scripts/main-job.sh; test/scripts/apt-lock.test.ts calls it alone.
goma_apt() {
  local log rc t0=$SECONDS said= sudo_= who=${GOMA_APT_WHO:-setup} lock_wait=${GOMA_APT_LOCK_TIMEOUT:-600}
  [[ $lock_wait =~ ^[0-9]+$ ]] || { echo "$who: error: GOMA_APT_LOCK_TIMEOUT '$lock_wait' is not a number of seconds" >&2; return 2; }
  [ "$(id -u)" = 0 ] || sudo_=sudo
  log=$(mktemp)
  while :; do
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout="$lock_wait" "$@" >"$log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q 'Could not get lock' "$log" && [ $((SECONDS - t0)) -lt "$lock_wait" ] || break
    [ -n "$said" ] || { echo "$who: waiting for another apt/dpkg process to release its lock (at most $lock_wait s)" >&2; said=1; }
    sleep 2 # apt offers no event for a lock's release; this retry is the product's, not a test's
  done
  if [ $rc -ne 0 ]; then
    cat "$log" >&2
    if grep -q 'Could not get lock' "$log"; then
      echo "$who: error: another apt/dpkg process held its lock for more than $lock_wait s (see above); let it finish and run again, or raise GOMA_APT_LOCK_TIMEOUT" >&2
    else
      echo "$who: error: apt-get $* failed (see above)" >&2
    fi
  fi
  rm -f "$log"
  return $rc
}
