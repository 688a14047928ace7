#!/usr/bin/env bash
# kill -9 during imports, the long loop: runs the test of tests/it/kill.rs with RUNS kills per
# backend (default 50, so 100 in all on SQLite and PostgreSQL) and HALF as many serving nodes
# killed mid-upload, then prints each run and the totals. The real binary (debug profile, as
# the tests build it) imports CP932 copies of the real HOT9 files in ../shared/data; each run
# kills it with SIGKILL at a random point of an import's time and checks that the previous
# release still serves and the database is exactly as before (every row of every table) or
# holds the whole new release, and that the next import succeeds.
#
#   bench/kill_imports.sh [RUNS]        # HYOJUN_KILL_SEED=N to replay a run's kill points
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-50}"
log="$(mktemp -t kill_imports.XXXXXX.log)"
started=$(date +%s)
status=0
HYOJUN_KILL_RUNS="$runs" cargo test --locked --test it kill_9_ -- --nocapture --test-threads 1 \
  >"$log" 2>&1 || status=$?
grep -E "HYOJUN_KILL_SEED| run [0-9]+: |kills during imports|serving nodes killed|^test |test result" "$log" || true
echo "$(( $(date +%s) - started )) s; full log: $log"
if [[ $status -ne 0 ]]; then
  grep -E "panicked" -A6 "$log" >&2 || true
  echo "FAILED (exit $status)" >&2
fi
exit $status
