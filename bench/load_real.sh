#!/usr/bin/env bash
# Load every master's real data into one hyojun database, each release imported and activated:
#
#   * HOT: the real HOT9 file MEDIS20030228 (hot-hs001/…/MEDIS20030228_HOT9.utf8.csv.gz, unpacked
#     into WORKDIR);
#   * 病名: the 5.07 release bench/make_byomei_from_extract.py builds from the real extracts;
#   * JLAC: a まとめ表 workbook of the 8,108 real JLAC10 codes (bench/make_real_releases.py jlac),
#     release label 2026-real;
#   * 看護: a release in the real CSV layouts built from the format samples and the JP Core code
#     lists (bench/make_real_releases.py nursing), release label 4.0.
#
# Usage (from anywhere; needs a release build of hyojun, `cargo build --release --bin hyojun`):
#
#   bash bench/load_real.sh DATABASE_URL WORKDIR
#
# DATABASE_URL: sqlite://path, a SQLite file path or postgres://… (the database should be empty:
# the releases are imported as new). WORKDIR receives the unpacked / generated release files
# and logs/ with the output of every import. Real data is read from ../shared/data beside the
# repository (HYOJUN_BENCH_SHARED overrides); nothing is copied into the repository.
#
# Environment (optional): HYOJUN_BIN (default target/release/hyojun), HYOJUN_BENCH_SHARED.
# Exits non-zero when a generator or an import fails (and shows the end of its log). Prints
# `hyojun releases` (row and code counts per system) at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

log() { printf '[load] %s\n' "$*" >&2; }
die() {
    printf '[load] FAILED: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 2 ]] || die "usage: bench/load_real.sh DATABASE_URL WORKDIR"
DB=$1
WORK=$2
SHARED=${HYOJUN_BENCH_SHARED:-../shared/data}
HYOJUN=${HYOJUN_BIN:-$REPO/target/release/hyojun}

[[ -x $HYOJUN ]] || die "$HYOJUN not found: build it first (cargo build --release --bin hyojun)"
[[ -d $SHARED ]] || die "shared data folder not found: $SHARED (set HYOJUN_BENCH_SHARED)"
SHARED=$(cd "$SHARED" && pwd)
command -v python3 >/dev/null || die "python3 is required"
HOT_GZ="$SHARED/hot-hs001/jp-medicine-master-data_hot9_2001-2003/MEDIS20030228_HOT9.utf8.csv.gz"
[[ -f $HOT_GZ ]] || die "real HOT9 file not found: $HOT_GZ"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOG_DIR="$WORK/logs"
mkdir -p "$LOG_DIR"

# import_release NAME MASTER PATH [ARGS…]: import and activate, log in LOG_DIR/import-NAME.log.
import_release() {
    local name=$1 master=$2 path=$3 started
    shift 3
    local logf="$LOG_DIR/import-$name.log"
    started=$(date +%s.%N)
    "$HYOJUN" --database-url "$DB" import "$master" "$path" "$@" --activate >"$logf" 2>&1 ||
        { tail -30 "$logf" >&2; die "import $master $path (log: $logf)"; }
    log "$(printf '%-8s %s: imported and activated in %.1f s' "$name" "$(basename "$path")" \
        "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')")"
}

# generate NAME COMMAND…: run a generator; its last stdout line is the path to import.
generate() {
    local name=$1 out
    shift
    out=$("$@" 2>"$LOG_DIR/build-$name.log" | tail -1) ||
        { cat "$LOG_DIR/build-$name.log" >&2; die "building the $name release"; }
    [[ -n $out && -e $out ]] || { cat "$LOG_DIR/build-$name.log" >&2; die "the $name generator printed no path"; }
    log "$(tail -1 "$LOG_DIR/build-$name.log")"
    printf '%s\n' "$out"
}

log "database: $DB"
log "work directory: $WORK"

HOT_TXT="$WORK/MEDIS20030228_HOT9.TXT"
gzip -dc "$HOT_GZ" >"$HOT_TXT"
import_release hot hot "$HOT_TXT" --partial  # the real data is the HOT9 file alone

BYOMEI_ZIP=$(generate byomei python3 bench/make_byomei_from_extract.py "$SHARED/byomei-hs005" "$WORK")
import_release byomei byomei "$BYOMEI_ZIP"

export HYOJUN_SHARED_DATA=$SHARED
JLAC_XLSX=$(generate jlac python3 bench/make_real_releases.py jlac "$WORK")
import_release jlac jlac "$JLAC_XLSX" --version 2026-real --partial  # the まとめ表 alone

NURSING_DIR=$(generate nursing python3 bench/make_real_releases.py nursing "$WORK")
import_release nursing nursing "$NURSING_DIR"

"$HYOJUN" --database-url "$DB" releases >"$LOG_DIR/releases.txt" 2>&1 ||
    { cat "$LOG_DIR/releases.txt" >&2; die "hyojun releases"; }
cat "$LOG_DIR/releases.txt"
