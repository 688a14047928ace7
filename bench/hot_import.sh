#!/usr/bin/env bash
# Benchmark `hyojun import hot` on a synthetic full-size MEDIS HOT13 master.
#
# Generates two releases with examples/gen_hot13.rs (65,000 rows, then ~1 % changed), then,
# for SQLite and PostgreSQL, imports release 1 into a fresh database followed by release 2,
# each under /usr/bin/time. Every measurement is repeated on fresh databases and the median
# is reported against the targets. See bench/README.md. Run from anywhere:
#
#   bash bench/hot_import.sh
#
# Environment (all optional):
#   HYOJUN_BENCH_DIR       data/work directory            (default target/bench-data)
#   HYOJUN_BENCH_RUNS      repetitions per backend         (default 3)
#   HYOJUN_BENCH_ROWS      rows of release 1               (default 65000)
#   HYOJUN_BENCH_SEED      generator seed                  (default 1)
#   HYOJUN_BENCH_BACKENDS  backends to run                 (default "sqlite postgres")
#   HYOJUN_BENCH_PGHOST / HYOJUN_BENCH_PGPORT / HYOJUN_BENCH_PGUSER / HYOJUN_BENCH_PGADMINDB
#                          PostgreSQL server and the database used to CREATE/DROP the
#                          benchmark database (default 127.0.0.1 / 5432 / postgres / test)
#
# The PASS/MISS column is informational: the script exits 0 unless a command fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${HYOJUN_BENCH_RUNS:-3}
ROWS=${HYOJUN_BENCH_ROWS:-65000}
SEED=${HYOJUN_BENCH_SEED:-1}
BACKENDS=${HYOJUN_BENCH_BACKENDS:-sqlite postgres}
PGHOST_=${HYOJUN_BENCH_PGHOST:-127.0.0.1}
PGPORT_=${HYOJUN_BENCH_PGPORT:-5432}
PGUSER_=${HYOJUN_BENCH_PGUSER:-postgres}
PGADMINDB=${HYOJUN_BENCH_PGADMINDB:-test}
PG_DB="hyojun_bench_$$"

R1_DATE=20260531
R2_DATE=20260630
CHANGE_PERCENT=1

# Targets: wall seconds per import, peak RSS per import.
TARGET_WALL_SQLITE=2
TARGET_WALL_POSTGRES=4
TARGET_RSS_MB=300

HYOJUN=target/release/hyojun
GEN=target/release/examples/gen_hot13

log() { printf '[bench] %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------
# Setup and cleanup
# ------------------------------------------------------------------------------------------

PG_CREATED=0
WORK=""
SQLITE_DB=""

pg_admin() {
    PGCONNECT_TIMEOUT=5 psql -h "$PGHOST_" -p "$PGPORT_" -U "$PGUSER_" -d "$PGADMINDB" \
        -v ON_ERROR_STOP=1 -qAt "$@"
}

pg_drop() {
    # WITH (FORCE) needs PostgreSQL 13+; fall back to a plain DROP.
    pg_admin -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 ||
        pg_admin -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
}

sqlite_remove() {
    rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$SQLITE_DB-journal"
}

cleanup() {
    local rc=$?
    if [[ $PG_CREATED -eq 1 ]]; then
        pg_drop || log "could not drop PostgreSQL database $PG_DB"
    fi
    if [[ -n $SQLITE_DB ]]; then
        sqlite_remove
    fi
    if [[ -n $WORK ]]; then
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time missing: installing the Debian package 'time'"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

log "building hyojun and gen_hot13 (release)"
cargo build --release --bin hyojun --example gen_hot13

DATA_DIR=${HYOJUN_BENCH_DIR:-target/bench-data}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
WORK=$(mktemp -d "$DATA_DIR/tmp.XXXXXX")
LOG_DIR="$DATA_DIR/logs"
mkdir -p "$LOG_DIR"
SQLITE_DB="$DATA_DIR/bench.db"

# ------------------------------------------------------------------------------------------
# Data: generated once, reused while the parameters and the generator are unchanged
# ------------------------------------------------------------------------------------------

R1="$DATA_DIR/r1/MEDIS$R1_DATE.TXT"
R2="$DATA_DIR/r2/MEDIS$R2_DATE.TXT"
STAMP_FILE="$DATA_DIR/data.stamp"
GEN_HASH=$(sha256sum examples/gen_hot13.rs | cut -c1-16)
STAMP="rows=$ROWS seed=$SEED r1=$R1_DATE r2=$R2_DATE change=$CHANGE_PERCENT gen=$GEN_HASH"

if [[ -f $R1 && -f $R2 && -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$STAMP" ]]; then
    log "reusing generated data in $DATA_DIR ($STAMP)"
else
    rm -f "$STAMP_FILE"
    log "generating release 1 ($R1_DATE, $ROWS rows)"
    "$GEN" --rows "$ROWS" --seed "$SEED" --date "$R1_DATE" --out "$DATA_DIR/r1"
    log "generating release 2 ($R2_DATE, $CHANGE_PERCENT % changed)"
    "$GEN" --mutate-from "$R1" --change-percent "$CHANGE_PERCENT" --seed "$SEED" \
        --date "$R2_DATE" --out "$DATA_DIR/r2"
    echo "$STAMP" >"$STAMP_FILE"
fi
log "release 1: $(du -h "$R1" | cut -f1), release 2: $(du -h "$R2" | cut -f1)"

# ------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------

# run_timed LOGFILE CMD...: run CMD under /usr/bin/time, output to LOGFILE;
# sets WALL (seconds) and RSS_KB (peak resident set size). Exits on failure.
WALL=""
RSS_KB=""
run_timed() {
    local logfile=$1
    shift
    local tf="$WORK/time.txt"
    if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$logfile" 2>&1; then
        log "FAILED: $* (log: $logfile)"
        tail -n 40 "$logfile" >&2 || true
        exit 1
    fi
    read -r WALL RSS_KB <"$tf"
}

# run_plain LOGFILE CMD...: run CMD (not timed), exit on failure.
run_plain() {
    local logfile=$1
    shift
    if ! "$@" >"$logfile" 2>&1; then
        log "FAILED: $* (log: $logfile)"
        tail -n 40 "$logfile" >&2 || true
        exit 1
    fi
}

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Results: "backend release wall_median rss_mb_median wall_target" lines.
RESULTS=()

bench_backend() {
    local backend=$1
    local r1_walls=() r1_rss=() r2_walls=() r2_rss=()
    local url run
    for ((run = 1; run <= RUNS; run++)); do
        case $backend in
            sqlite)
                sqlite_remove
                url="sqlite://$SQLITE_DB"
                ;;
            postgres)
                pg_drop
                pg_admin -c "CREATE DATABASE $PG_DB" >/dev/null
                PG_CREATED=1
                url="postgres://$PGUSER_@$PGHOST_:$PGPORT_/$PG_DB"
                ;;
        esac
        local prefix="$LOG_DIR/$backend-run$run"
        run_plain "$prefix-migrate.log" "$HYOJUN" --database-url "$url" migrate
        run_timed "$prefix-r1.log" "$HYOJUN" --database-url "$url" import hot "$R1" --partial
        r1_walls+=("$WALL")
        r1_rss+=("$RSS_KB")
        local r1_msg="$WALL s $((RSS_KB / 1024)) MB"
        run_timed "$prefix-r2.log" "$HYOJUN" --database-url "$url" import hot "$R2" --partial
        r2_walls+=("$WALL")
        r2_rss+=("$RSS_KB")
        log "$backend run $run/$RUNS: $R1_DATE $r1_msg, $R2_DATE $WALL s $((RSS_KB / 1024)) MB"
    done
    local target
    if [[ $backend == sqlite ]]; then target=$TARGET_WALL_SQLITE; else target=$TARGET_WALL_POSTGRES; fi
    RESULTS+=("$backend $R1_DATE $(median "${r1_walls[@]}") $(median "${r1_rss[@]}") $target")
    RESULTS+=("$backend $R2_DATE $(median "${r2_walls[@]}") $(median "${r2_rss[@]}") $target")
    if [[ $backend == sqlite ]]; then
        sqlite_remove
    else
        pg_drop
        PG_CREATED=0
    fi
}

SKIPPED=()
for backend in $BACKENDS; do
    case $backend in
        sqlite) ;;
        postgres)
            if ! command -v psql >/dev/null 2>&1; then
                log "psql not found: skipping PostgreSQL (install postgresql-client)"
                SKIPPED+=("postgres (psql not found)")
                continue
            fi
            if ! pg_admin -c 'SELECT 1' >/dev/null 2>&1; then
                log "PostgreSQL unreachable at $PGUSER_@$PGHOST_:$PGPORT_/$PGADMINDB: skipping PostgreSQL"
                SKIPPED+=("postgres (server unreachable at $PGHOST_:$PGPORT_)")
                continue
            fi
            ;;
        *)
            log "unknown backend '$backend' (expected sqlite or postgres)"
            exit 2
            ;;
    esac
    log "benchmarking $backend ($RUNS runs)"
    bench_backend "$backend"
done

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

{
    echo
    echo "hyojun import hot — $ROWS rows (release 1), $CHANGE_PERCENT % changed (release 2);" \
        "median of $RUNS runs, fresh database per run"
    printf '%-9s %-9s %8s %12s   %-13s %s\n' \
        backend release "wall s" "peak RSS MB" "wall target" "RSS target"
    for line in "${RESULTS[@]}"; do
        read -r backend release wall rss_kb target <<<"$line"
        awk -v b="$backend" -v r="$release" -v w="$wall" -v k="$rss_kb" -v t="$target" \
            -v tr="$TARGET_RSS_MB" 'BEGIN {
                mb = k / 1024
                printf "%-9s %-9s %8.2f %12.1f   %-13s %s\n", b, r, w, mb,
                    "< " t " s " (w < t ? "PASS" : "MISS"), "< " tr " MB " (mb < tr ? "PASS" : "MISS")
            }'
    done
    for s in "${SKIPPED[@]}"; do
        echo "skipped: $s"
    done
    echo "logs: $LOG_DIR"
} | tee "$DATA_DIR/last-results.txt"
