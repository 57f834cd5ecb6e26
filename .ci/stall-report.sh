#!/usr/bin/env bash
# Runs a command; if it is still running after LIMIT seconds, prints what every process under it
# is doing (state, kernel wait, native stacks of the Node processes) and ends it, so a run that
# hangs fails with a reason at the end of its log instead of running into the job's own limit.
# Usage: stall-report.sh LIMIT command [args...]
set -uo pipefail
limit=$1
shift
setsid "$@" &
pid=$!
(
  # Ended early (the command finished): the sleep goes too, holding no copy of the log's pipe.
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$limit" >/dev/null 2>&1 &
  nap=$!
  wait "$nap"
  kill -0 "$pid" 2>/dev/null || exit 0
  echo
  echo "=== still running after ${limit} s: the processes under it ==="
  ps -o pid,ppid,stat,etime,pcpu,wchan:30,args -s "$pid" --forest
  for p in $(ps -o pid= -s "$pid"); do
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in
      node | workerd) ;;
      *) continue ;;
    esac
    echo "--- $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-200)"
    cat "/proc/$p/stack" 2>/dev/null | head -12
    if command -v gdb >/dev/null 2>&1; then
      timeout 30 gdb -batch -p "$p" -ex "thread apply 1 bt 12" 2>/dev/null | grep "^#" | head -12
    fi
  done
  echo "=== ending it ==="
  kill -TERM -- "-$pid" 2>/dev/null
  sleep 10
  kill -KILL -- "-$pid" 2>/dev/null
) &
watchdog=$!
wait "$pid"
status=$?
kill "$watchdog" 2>/dev/null
exit "$status"
