#!/usr/bin/env bash
# Benchmark search (issue 4, "Speed") on all real data, against Groonga.
#
# Release build, one SQLite database holding every master's real data (bench/load_real.sh:
# HOT9 20030228, 病名 5.07, 8,108 JLAC10 codes, 看護 4.0), a mixed query file drawn from that
# corpus (bench/search_queries.py):
#   * in-process (examples/search_bench.rs): index build time (target < 5 s), index size, RSS,
#     p50/p99 for 1–2-character queries (target p50 < 200 µs) and 3+-character queries
#     (target p50 < 100 µs);
#   * HTTP: GET /v1/search?q=…&limit=20 with 16 connections, wrk cycling through the queries
#     (target >= 10,000 searches/s), against Groonga's HTTP server (Debian groonga-httpd,
#     TokenBigram + NormalizerAuto, same corpus, same queries, same run; target: hyojun >= 5×
#     Groonga's searches/s), with latency, non-2xx counts, server RSS and index size.
# See bench/README.md. Run from anywhere:
#
#   bash bench/search.sh
#
# Environment (all optional):
#   HYOJUN_BENCH_DIR           data/work directory                     (default target/bench-search)
#   HYOJUN_BENCH_PORT          hyojun port on 127.0.0.1                (default 18090)
#   HYOJUN_BENCH_GROONGA_PORT  Groonga port on 127.0.0.1               (default 18091)
#                              (a busy port is replaced by the next free one, with a notice)
#   HYOJUN_BENCH_DURATION      seconds per wrk measurement              (default 10)
#   HYOJUN_BENCH_QUERIES       queries in the mixed query file          (default 2000)
#   HYOJUN_BENCH_SEED          seed of the query file                   (default 20261121)
#   HYOJUN_BENCH_SHARED        the shared data folder                   (default ../shared/data)
#   HYOJUN_BENCH_GROONGA       httpd (groonga-httpd, default) or server (`groonga --protocol
#                              http -s` from groonga-bin; used anyway when groonga-httpd cannot
#                              be installed)
#
# Informational: the PASS/MISS column does not change the exit code; the script exits
# non-zero only when a step fails (build, data load, a server not starting or not answering,
# non-2xx responses).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DIR=${HYOJUN_BENCH_DIR:-target/bench-search}
PORT=${HYOJUN_BENCH_PORT:-18090}
GROONGA_PORT=${HYOJUN_BENCH_GROONGA_PORT:-18091}
DURATION=${HYOJUN_BENCH_DURATION:-10}
NQUERIES=${HYOJUN_BENCH_QUERIES:-2000}
SEED=${HYOJUN_BENCH_SEED:-20261121}
SHARED=${HYOJUN_BENCH_SHARED:-../shared/data}
GROONGA_MODE=${HYOJUN_BENCH_GROONGA:-httpd}
BUILD_TIMEOUT=1800
CONNS=16
THREADS=2

# Targets (issue 4).
TARGET_LONG_P50_US=100
TARGET_SHORT_P50_US=200
TARGET_RPS=10000
TARGET_RATIO=5
TARGET_BUILD_S=5

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    printf '[bench] FAILED: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------------------------------
# Cleanup: stop both servers and wrk (only the processes this script started, by pid)
# ------------------------------------------------------------------------------------------

HYOJUN_PID=""
GROONGA_PID=""
WRK_PID=""

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

cleanup() {
    local rc=$?
    stop_pid "$WRK_PID"
    stop_pid "$HYOJUN_PID"
    stop_pid "$GROONGA_PID"
    HYOJUN_PID=""
    GROONGA_PID=""
    if [[ $rc -ne 0 ]]; then
        log "exit status $rc; logs are in ${LOG_DIR:-$DIR/logs}"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------
# Tools: wrk, groonga-httpd and groonga (Debian packages), curl, python3
# ------------------------------------------------------------------------------------------

apt_install() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
    log "installing Debian package(s): $*"
    timeout 600 $sudo apt-get update -qq
    timeout 600 $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v wrk >/dev/null; then apt_install wrk; fi
if ! command -v groonga >/dev/null; then apt_install groonga-bin; fi
GROONGA_HTTPD=$(command -v groonga-httpd || true)
[[ -n $GROONGA_HTTPD ]] || GROONGA_HTTPD=/usr/sbin/groonga-httpd
if [[ $GROONGA_MODE == httpd && ! -x $GROONGA_HTTPD ]]; then
    apt_install groonga-httpd || true
    if [[ ! -x $GROONGA_HTTPD ]]; then
        log "groonga-httpd could not be installed; using groonga's own HTTP server (groonga-bin)"
        GROONGA_MODE=server
    fi
fi
[[ $GROONGA_MODE == httpd || $GROONGA_MODE == server ]] ||
    die "HYOJUN_BENCH_GROONGA must be httpd or server, not $GROONGA_MODE"
for tool in wrk groonga curl python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
GROONGA_VERSION=$(groonga --version | head -1 | awk '{ print $2 }')

# ------------------------------------------------------------------------------------------
# Build (binaries copied aside: the target dir is shared with other builds)
# ------------------------------------------------------------------------------------------

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
LOG_DIR="$DIR/logs"
rm -rf "$LOG_DIR" "$DIR/wrk" "${DIR:?}/bin"
mkdir -p "$LOG_DIR" "$DIR/wrk" "$DIR/bin"

HAVE_EXAMPLE=0
if [[ -f examples/search_bench.rs ]]; then
    HAVE_EXAMPLE=1
    log "building hyojun and examples/search_bench (release)"
    timeout --foreground "$BUILD_TIMEOUT" cargo build --release --bin hyojun --example search_bench
else
    log "examples/search_bench.rs does not exist (yet): skipping the in-process measurement"
    log "building hyojun (release)"
    timeout --foreground "$BUILD_TIMEOUT" cargo build --release --bin hyojun
fi
cp target/release/hyojun "$DIR/bin/hyojun"
HYOJUN="$DIR/bin/hyojun"
if [[ $HAVE_EXAMPLE -eq 1 ]]; then
    cp target/release/examples/search_bench "$DIR/bin/search_bench"
fi
[[ $("$HYOJUN" serve --help) == *--index-dir* ]] ||
    die "$HYOJUN serve has no --index-dir option (an older build in the shared target dir?)"

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
# Data: every master's real data in a fresh SQLite database; queries; Groonga's corpus
# ------------------------------------------------------------------------------------------

DB_FILE="$DIR/bench.db"
rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm" "$DB_FILE-journal"
rm -rf "$DIR/work" "$DIR/index" "$DIR/index-bench" "$DB_FILE.search"
DB="sqlite://$DB_FILE"

log "loading the real data (bench/load_real.sh)"
HYOJUN_BIN=$HYOJUN HYOJUN_BENCH_SHARED=$SHARED bash bench/load_real.sh "$DB" "$DIR/work" \
    >"$LOG_DIR/load.txt" 2>"$LOG_DIR/load.log" ||
    { tail -30 "$LOG_DIR/load.log" >&2; die "bench/load_real.sh"; }
DOC_ROWS=$(python3 - "$DB_FILE" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = con.execute("SELECT master, count(*) FROM concepts WHERE valid_to IS NULL GROUP BY master ORDER BY master").fetchall()
print(", ".join(f"{m} {n}" for m, n in rows) + f" (total {sum(n for _, n in rows)})")
PY
)
log "current concept rows: $DOC_ROWS"

QUERIES="$DIR/queries.txt"
python3 bench/search_queries.py queries "$DB_FILE" "$QUERIES" --count "$NQUERIES" --seed "$SEED" \
    2>"$LOG_DIR/queries.log" || { cat "$LOG_DIR/queries.log" >&2; die "bench/search_queries.py queries"; }
log "$(head -1 "$LOG_DIR/queries.log")"
QUERY_MIX=$(head -1 "$LOG_DIR/queries.log")

# ------------------------------------------------------------------------------------------
# In-process: examples/search_bench
# ------------------------------------------------------------------------------------------

BENCH_JSON="$LOG_DIR/search_bench.json"
if [[ $HAVE_EXAMPLE -eq 1 ]]; then
    log "in-process search (examples/search_bench)"
    "$DIR/bin/search_bench" --database-url "$DB" --index-dir "$DIR/index-bench" --queries "$QUERIES" \
        >"$BENCH_JSON" 2>"$LOG_DIR/search_bench.log" ||
        { tail -20 "$LOG_DIR/search_bench.log" >&2; die "search_bench"; }
    cat "$BENCH_JSON" >&2
    read -r IP_DOCS IP_BUILD IP_INDEX_MB IP_RSS_MB IP_HWM_MB IP_SHORT_N IP_SHORT_P50 IP_SHORT_P99 \
        IP_LONG_N IP_LONG_P50 IP_LONG_P99 IP_HITS <<<"$(python3 - "$BENCH_JSON" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, l = d["short_queries"], d["long_queries"]
print(d["documents"], d["build_seconds"], f'{d["index_bytes"] / 1e6:.1f}', f'{d["rss_kb"] / 1024:.0f}',
      f'{d["peak_rss_kb"] / 1024:.0f}', s["runs"], s["p50_us"], s["p99_us"], l["runs"], l["p50_us"],
      l["p99_us"], d.get("mean_hits_per_query", "-"))
PY
)"
fi

# ------------------------------------------------------------------------------------------
# Groonga database: same corpus, TokenBigram + NormalizerAuto
# ------------------------------------------------------------------------------------------

G="$DIR/groonga"
rm -rf "$G"
mkdir -p "$G/db" "$G/logs"
log "building the Groonga database ($GROONGA_VERSION)"
python3 bench/search_queries.py groonga "$DB_FILE" "$G/corpus.grn" 2>"$LOG_DIR/groonga-corpus.log" ||
    { cat "$LOG_DIR/groonga-corpus.log" >&2; die "bench/search_queries.py groonga"; }
G_STARTED=$(date +%s.%N)
groonga -n "$G/db/db" quit >/dev/null
groonga --log-path "$G/logs/build.log" --query-log-path "$G/logs/build-query.log" "$G/db/db" \
    <"$G/corpus.grn" >"$LOG_DIR/groonga-build.txt" 2>&1 || { tail -20 "$LOG_DIR/groonga-build.txt" >&2; die "groonga load"; }
G_BUILD=$(awk -v a="$G_STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
# Every command answers [[0, …], …]: a non-zero return code is an error.
if grep -qv '^\[\[0,' "$LOG_DIR/groonga-build.txt"; then
    cat "$LOG_DIR/groonga-build.txt" >&2
    die "a Groonga command failed while building the database"
fi
# The load answers with the number of records loaded; the other commands with true.
G_RECORDS=$(awk -F'[],]' '/^\[\[0,/ && !/true\]$/ { print $5 }' "$LOG_DIR/groonga-build.txt")
log "Groonga: $(cat "$LOG_DIR/groonga-corpus.log"), built in ${G_BUILD} s"

# ------------------------------------------------------------------------------------------
# Servers
# ------------------------------------------------------------------------------------------

PORT=$(free_port "$PORT")
HYOJUN_URL="http://127.0.0.1:$PORT"
FIRST_Q_URL="q=%E8%83%83%E7%82%8E" # 胃炎

log "starting hyojun on $HYOJUN_URL (index: $DIR/index)"
H_STARTED=$(date +%s.%N)
"$HYOJUN" --database-url "$DB" serve --bind "127.0.0.1:$PORT" --anonymous-read --index-dir "$DIR/index" \
    --upload-dir "$DIR/up" >"$LOG_DIR/serve.log" 2>&1 &
HYOJUN_PID=$!
ready=0
for ((i = 0; i < 600; i++)); do
    if curl -fsS --max-time 1 "$HYOJUN_URL/readyz" >/dev/null 2>&1; then
        ready=1
        break
    fi
    kill -0 "$HYOJUN_PID" 2>/dev/null || { tail -20 "$LOG_DIR/serve.log" >&2; die "hyojun serve exited"; }
    sleep 0.1
done
[[ $ready -eq 1 ]] || { tail -20 "$LOG_DIR/serve.log" >&2; die "hyojun not ready on $HYOJUN_URL/readyz after 60 s"; }
# The index is built on start: wait for a first search to answer with hits.
ok=0
for ((i = 0; i < 120; i++)); do
    code=$(curl -sS --max-time 30 -o "$LOG_DIR/first-search.json" -w '%{http_code}' \
        "$HYOJUN_URL/v1/search?$FIRST_Q_URL" 2>>"$LOG_DIR/first-search.err" || true)
    if [[ $code == 200 ]] && python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("total", 0) > 0 else 1)' \
        "$LOG_DIR/first-search.json" 2>/dev/null; then
        ok=1
        break
    fi
    kill -0 "$HYOJUN_PID" 2>/dev/null || { tail -20 "$LOG_DIR/serve.log" >&2; die "hyojun serve exited"; }
    sleep 0.5
done
if [[ $ok -ne 1 ]]; then
    head -c 2000 "$LOG_DIR/first-search.json" >&2 || true
    die "GET /v1/search?q=胃炎 did not answer 200 with total > 0 (last status ${code:-none})"
fi
H_READY=$(awk -v a="$H_STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
log "hyojun answered GET /v1/search?q=胃炎 ${H_READY} s after its start"

GROONGA_PORT=$(free_port "$GROONGA_PORT")
GROONGA_URL="http://127.0.0.1:$GROONGA_PORT"
log "starting Groonga ($GROONGA_MODE) on $GROONGA_URL"
if [[ $GROONGA_MODE == httpd ]]; then
    mkdir -p "$G/tmp"
    temps=""
    for t in client_body proxy fastcgi uwsgi scgi; do
        mkdir -p "$G/tmp/$t"
        temps+="    ${t}_temp_path $G/tmp/$t;"$'\n'
    done
    user_line=""
    if [[ $(id -u) -eq 0 ]]; then user_line="user root root;"; fi
    cat >"$G/httpd.conf" <<EOF
# generated by bench/search.sh
worker_processes 2;
daemon off;
$user_line
pid $G/httpd.pid;
error_log $G/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
$temps    keepalive_requests 1000000;
    groonga_database $G/db/db;
    groonga_log_path $G/logs/groonga.log;
    groonga_query_log_path off;
    server {
        listen 127.0.0.1:$GROONGA_PORT;
        location /d/ { groonga on; }
    }
}
EOF
    "$GROONGA_HTTPD" -p "$G/" -c "$G/httpd.conf" >"$LOG_DIR/groonga-server.log" 2>&1 &
    GROONGA_PID=$!
else
    groonga --protocol http -s --bind-address 127.0.0.1 --port "$GROONGA_PORT" \
        --log-path "$G/logs/groonga.log" --query-log-path "$G/logs/query.log" "$G/db/db" \
        >"$LOG_DIR/groonga-server.log" 2>&1 &
    GROONGA_PID=$!
fi
GROONGA_SELECT="/d/select?table=Concepts&match_columns=names&limit=20&output_columns=_key,display&cache=no&query="
ok=0
for ((i = 0; i < 100; i++)); do
    if curl -fsS --max-time 2 -o "$LOG_DIR/first-groonga.json" "$GROONGA_URL$GROONGA_SELECT%22%E8%83%83%E7%82%8E%22" 2>/dev/null &&
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d[0][0] == 0 and d[1][0][0][0] > 0 else 1)' \
            "$LOG_DIR/first-groonga.json" 2>/dev/null; then
        ok=1
        break
    fi
    kill -0 "$GROONGA_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ $ok -ne 1 ]]; then
    cat "$LOG_DIR/groonga-server.log" "$G/logs/error.log" "$LOG_DIR/first-groonga.json" >&2 2>/dev/null || true
    die "Groonga did not answer a select for 胃炎 with hits on $GROONGA_URL"
fi

# ------------------------------------------------------------------------------------------
# Every query once against both servers (checks statuses, counts hits; also the warm-up),
# and the wrk scripts
# ------------------------------------------------------------------------------------------

log "every query once against both servers (statuses, hits)"
python3 - "$QUERIES.kinds" "$PORT" "$GROONGA_PORT" "$GROONGA_SELECT" "$DIR/wrk" "$LOG_DIR" <<'PY' || die "the query check failed (see above)"
import http.client, json, sys, urllib.parse
from collections import OrderedDict

kinds_file, hport, gport, gselect, wrk_dir, log_dir = sys.argv[1:7]
queries = [line.rstrip("\n").split("\t", 1) for line in open(kinds_file, encoding="utf-8")]

def hyojun_path(q):
    return "/v1/search?q=" + urllib.parse.quote(q, safe="") + "&limit=20"

def groonga_path(q):
    # One phrase: Groonga's query syntax (spaces, OR, -, +, parentheses, quotes) does not apply
    # inside "…"; only " and \ need a backslash there.
    phrase = '"' + q.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return gselect + urllib.parse.quote(phrase, safe="")

def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()

hc = http.client.HTTPConnection("127.0.0.1", int(hport), timeout=30)
gc = http.client.HTTPConnection("127.0.0.1", int(gport), timeout=30)
stats = OrderedDict()
bad = []
body_bytes = [0, 0]
missed = []
out = open(f"{log_dir}/hits.tsv", "w", encoding="utf-8")
out.write("kind\tquery\thyojun_total\tgroonga_total\n")
for kind, q in queries:
    hs, hb = get(hc, hyojun_path(q))
    gs, gb = get(gc, groonga_path(q))
    body_bytes[0] += len(hb)
    body_bytes[1] += len(gb)
    ht = gt = -1
    if hs == 200:
        ht = json.loads(hb)["total"]
    else:
        bad.append(f"hyojun {hs} for {q!r}: {hb[:300]!r}")
    g = json.loads(gb) if gb[:1] == b"[" else None
    if gs == 200 and g and g[0][0] == 0:
        gt = g[1][0][0][0]
    else:
        bad.append(f"groonga {gs} for {q!r}: {gb[:300]!r}")
    out.write(f"{kind}\t{q}\t{ht}\t{gt}\n")
    s = stats.setdefault(kind, [0, 0, 0, 0, 0, 0])
    s[0] += 1
    s[1] += ht > 0
    s[2] += gt > 0
    s[3] += max(ht, 0)
    s[4] += max(gt, 0)
    s[5] += ht == 0 and gt > 0
    if ht == 0 and gt > 0:
        missed.append(f"{q} (groonga {gt})")
out.close()
if bad:
    print("\n".join(bad[:20]), file=sys.stderr)
    print(f"{len(bad)} non-200 / error answers", file=sys.stderr)
    sys.exit(1)
with open(f"{log_dir}/hits.txt", "w", encoding="utf-8") as f:
    f.write(f"{'kind':<10} {'queries':>7} {'with hits: hyojun':>18} {'groonga':>8} "
            f"{'mean total: hyojun':>19} {'groonga':>8} {'hyojun 0, groonga >0':>21}\n")
    total = [0] * 6
    order = ["1char", "2char", "3-6char", "hiragana", "halfkana", "ascii", "fullwidth", "code"]
    kinds = sorted(stats, key=lambda k: (order.index(k) if k in order else len(order), k))
    for kind, s in [(k, stats[k]) for k in kinds] + [("all", None)]:
        if s is None:
            s = total
        else:
            total = [a + b for a, b in zip(total, s)]
        f.write(f"{kind:<10} {s[0]:>7} {s[1]:>18} {s[2]:>8} {s[3] / s[0]:>19.1f} {s[4] / s[0]:>8.1f} {s[5]:>21}\n")
    if missed:
        f.write(f"hyojun 0 hits, groonga some ({len(missed)}): " + ", ".join(missed[:12])
                + (" …" if len(missed) > 12 else "") + "\n")
with open(f"{log_dir}/body-bytes.txt", "w") as f:
    f.write(f"{body_bytes[1] // len(queries)} {body_bytes[0] // len(queries)}\n")

# wrk: the same queries, in the same shuffled order, formatted once per thread.
lua_tail = """
local reqs = {}
local i = 0
local n_threads = 0
function setup(thread)
  thread:set("offset", n_threads * 997)
  n_threads = n_threads + 1
end
function init(args)
  for k, p in ipairs(paths) do reqs[k] = wrk.format("GET", p) end
  i = (offset or 0) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""
for name, path in (("hyojun", hyojun_path), ("groonga", groonga_path)):
    lines = ["-- generated by bench/search.sh", "local paths = {"]
    lines += [f'  "{path(q)}",' for _, q in queries]
    lines += ["}", lua_tail]
    open(f"{wrk_dir}/{name}.lua", "w").write("\n".join(lines))
PY
cat "$LOG_DIR/hits.txt" >&2
read -r G_BODY H_BODY <"$LOG_DIR/body-bytes.txt"

# ------------------------------------------------------------------------------------------
# wrk
# ------------------------------------------------------------------------------------------

# run_wrk NAME URL LUA THREADS CONNS SECONDS: output kept in LOG_DIR/wrk-NAME.txt.
run_wrk() {
    local name=$1 url=$2 lua=$3 t=$4 c=$5 d=$6
    local out="$LOG_DIR/wrk-$name.txt"
    # In the background and waited for: wrk stops quietly on SIGINT, so a Ctrl-C reaching it in
    # the foreground would let the script carry on; `wait` returns at once on a signal instead.
    timeout $((d + 30)) wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s --latency -s "$lua" "$url" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || { WRK_PID=""; cat "$out" >&2; die "wrk $name"; }
    WRK_PID=""
    grep -q '^Requests/sec:' "$out" || { cat "$out" >&2; die "wrk $name: no Requests/sec line"; }
    if grep -q 'Socket errors' "$out"; then
        log "WARNING: wrk $name: $(grep 'Socket errors' "$out" | xargs)"
    fi
}

rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$LOG_DIR/wrk-$1.txt"; }
requests() { awk '/requests in/ { print $1 }' "$LOG_DIR/wrk-$1.txt"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$LOG_DIR/wrk-$1.txt"; }
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

# CPU already in use by other processes (both servers idle now), over one second.
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
GLUA="$DIR/wrk/groonga.lua"
log "warm-up: 2 s each, $CONNS connections"
run_wrk warmup-groonga "$GROONGA_URL" "$GLUA" "$THREADS" "$CONNS" 2
run_wrk warmup-hyojun "$HYOJUN_URL" "$HLUA" "$THREADS" "$CONNS" 2
log "Groonga, $CONNS connections, ${DURATION} s"
run_wrk groonga "$GROONGA_URL" "$GLUA" "$THREADS" "$CONNS" "$DURATION"
log "hyojun, $CONNS connections, ${DURATION} s"
run_wrk hyojun "$HYOJUN_URL" "$HLUA" "$THREADS" "$CONNS" "$DURATION"

# ------------------------------------------------------------------------------------------
# Memory, sizes
# ------------------------------------------------------------------------------------------

status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# tree_kb PID FIELD: the field summed over the process and its children (groonga-httpd workers).
tree_kb() {
    local total child
    total=$(status_kb "$1" "$2")
    for child in $(ps --ppid "$1" -o pid= 2>/dev/null); do
        total=$((total + $(status_kb "$child" "$2")))
    done
    echo "$total"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
H_HWM=$(mb "$(status_kb "$HYOJUN_PID" VmHWM)")
H_RSS=$(mb "$(status_kb "$HYOJUN_PID" VmRSS)")
G_HWM=$(mb "$(tree_kb "$GROONGA_PID" VmHWM)")
G_RSS=$(mb "$(tree_kb "$GROONGA_PID" VmRSS)")
H_INDEX_MB=$(du -sk "$DIR/index" | awk '{ printf "%.1f", $1 / 1024 }')
G_INDEX_MB=$(du -sk "$G/db" | awk '{ printf "%.1f", $1 / 1024 }')
H_DOCS=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/serve.log" | awk -F'documents=' '/search index/ && NF > 1 { split($2, a, " "); d = a[1] } END { print d }')
H_SERVE_BUILD=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/serve.log" | awk -F' seconds=' '/search index/ && NF > 1 { split($2, a, " "); s = a[1] } END { if (s != "") printf "%.2f", s }')

stop_pid "$HYOJUN_PID"
HYOJUN_PID=""
stop_pid "$GROONGA_PID"
GROONGA_PID=""

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "PASS" : "MISS") }'; }
below() { verdict "$(awk -v v="$1" -v t="$2" 'BEGIN { print (v != "" && v < t) }')"; }
atleast() { verdict "$(awk -v v="$1" -v t="$2" 'BEGIN { print (v != "" && v >= t) }')"; }

H_RPS=$(rps hyojun)
G_RPS=$(rps groonga)
RATIO=$(awk -v h="$H_RPS" -v g="$G_RPS" 'BEGIN { printf "%.2f", (g > 0) ? h / g : 0 }')
H_NON2XX=$(non2xx hyojun)
G_NON2XX=$(non2xx groonga)

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- src Cargo.toml Cargo.lock migrations examples 2>/dev/null || COMMIT="$COMMIT+uncommitted"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
if [[ $GROONGA_MODE == httpd ]]; then
    G_DESC="groonga-httpd $GROONGA_VERSION (worker_processes 2, query log off)"
else
    G_DESC="groonga $GROONGA_VERSION --protocol http -s"
fi

row() { printf '%-50s %12s %12s   %s\n' "$@"; }
{
    echo "hyojun search benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT, SQLite"
    echo "machine: $(nproc) CPU(s) ($CPU); wrk and both servers share them; busy before measuring: ${BUSY_BEFORE} % (other processes)"
    echo "data: HOT9 20030228 + 病名 5.07 + JLAC10 (8,108 real codes) + 看護 4.0; current concept rows: $DOC_ROWS"
    echo "queries: $QUERY_MIX"
    echo "HTTP: wrk -t$THREADS -c$CONNS -d${DURATION}s --latency, the same $NQUERIES queries cycled; hyojun GET /v1/search?q=…&limit=20;"
    echo "      Groonga: $G_DESC, table Concepts ($G_RECORDS records, key system:code), vector column names,"
    echo "      lexicon TABLE_PAT_KEY TokenBigram + NormalizerAuto, select match_columns=names query=\"…\" (phrase) limit=20 cache=no"
    echo
    row "measure" "groonga" "hyojun" "target"
    if [[ $HAVE_EXAMPLE -eq 1 ]]; then
        row "in-process p50 µs, 3+ chars ($IP_LONG_N runs)" "" "$IP_LONG_P50" "< $TARGET_LONG_P50_US $(below "$IP_LONG_P50" "$TARGET_LONG_P50_US")"
        row "in-process p99 µs, 3+ chars" "" "$IP_LONG_P99" ""
        row "in-process p50 µs, 1–2 chars ($IP_SHORT_N runs)" "" "$IP_SHORT_P50" "< $TARGET_SHORT_P50_US $(below "$IP_SHORT_P50" "$TARGET_SHORT_P50_US")"
        row "in-process p99 µs, 1–2 chars" "" "$IP_SHORT_P99" ""
        row "in-process mean hits per query" "" "$IP_HITS" ""
        row "index build s (search_bench, $IP_DOCS documents)" "$G_BUILD" "$IP_BUILD" "< $TARGET_BUILD_S $(below "$IP_BUILD" "$TARGET_BUILD_S")"
        row "index size MB (search_bench)" "" "$IP_INDEX_MB" ""
        row "search_bench RSS MB at the end / peak" "" "$IP_RSS_MB / $IP_HWM_MB" ""
    else
        row "in-process (examples/search_bench)" "" "skipped" "(example missing)"
    fi
    row "serve: index built on start, s (${H_DOCS:-?} docs)" "$G_BUILD" "${H_SERVE_BUILD:-?}" ""
    row "serve: start → first search answered, s" "" "$H_READY" ""
    row "index directory size MB (du)" "$G_INDEX_MB" "$H_INDEX_MB" ""
    row "HTTP $CONNS connections, searches/s" "$G_RPS" "$H_RPS" ">= $TARGET_RPS $(atleast "$H_RPS" "$TARGET_RPS")"
    row "HTTP ratio hyojun / groonga" "" "$RATIO" ">= $TARGET_RATIO $(atleast "$RATIO" "$TARGET_RATIO")"
    row "HTTP latency p50 µs" "$(percentile groonga 50)" "$(percentile hyojun 50)" ""
    row "HTTP latency p99 µs" "$(percentile groonga 99)" "$(percentile hyojun 99)" ""
    row "HTTP mean response body bytes (limit 20)" "$G_BODY" "$H_BODY" ""
    row "HTTP requests in ${DURATION} s" "$(requests groonga)" "$(requests hyojun)" ""
    row "HTTP non-2xx responses" "$G_NON2XX" "$H_NON2XX" "0 $(verdict "$(((G_NON2XX + H_NON2XX) == 0))")"
    row "server peak RSS MB (VmHWM)" "$G_HWM" "$H_HWM" ""
    row "server RSS MB after the runs" "$G_RSS" "$H_RSS" ""
    echo
    echo "hits per query kind (every query once, limit 20; total = all matches):"
    cat "$LOG_DIR/hits.txt"
    echo "logs: $LOG_DIR"
} | tee "$DIR/last-results.txt"

if [[ $((G_NON2XX + H_NON2XX)) -ne 0 ]]; then
    die "non-2xx responses: hyojun $H_NON2XX, groonga $G_NON2XX (wrk output in $LOG_DIR)"
fi
