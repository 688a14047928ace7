#!/usr/bin/env python3
"""Mapping speed (issue 6) against a running hyojun server (release build) with real HOT data:
upload N local codes, propose and approve a HOT9 target for each (bulk, two mappers, in
requests of at most 10,000 codes), then time batch translation of up to 10,000 codes (server
time from the Server-Timing header) and the exports of every mapping, CSV and FHIR ConceptMap
(wall time, bytes, the server's RSS before, peak during and after each export).

Usage: mapping_bench.py BASE_URL ADMIN_KEY MAPPER_KEY MAPPER2_KEY SERVER_PID [N=10000] [DB]
       [EXPORT_RUNS=3]
DB (optional) is the server's SQLite file, read to pick an active HOT9 code as the target.
Any N works: bulk review and translation are sent in requests of at most 10,000 codes.
Python 3 standard library only; prints one JSON object.
"""

import json
import sqlite3
import statistics
import sys
import threading
import time
import urllib.request

# Most codes one bulk review or translate request may carry (MAX_BULK; translate: the
# server's HYOJUN_MAX_VALIDATE_ITEMS, 10,000 by default).
MAX_CODES = 10_000


def request(base, key, method, path, body=None, content_type="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", content_type)
    return urllib.request.urlopen(req, timeout=600)


def call(base, key, method, path, body=None, content_type="application/json"):
    with request(base, key, method, path, body, content_type) as r:
        timing = r.headers.get("server-timing", "")
        payload = r.read()
    ms = float(timing.split("dur=")[1]) if "dur=" in timing else None
    return payload, ms


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm(pid):
    """Resets the process's VmHWM to its current RSS (Linux ≥ 4.0; needs the right to write
    /proc/PID/clear_refs). Returns whether it worked."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mb(kb):
    return round(kb / 1024, 1)


class RssPoller(threading.Thread):
    """Samples VmRSS every few milliseconds until stopped; keeps the highest value."""

    def __init__(self, pid, interval=0.002):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak, self.samples = 0, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))
            self.samples += 1
            time.sleep(self.interval)


def export_once(base, key, pid, path):
    """One export, read in 64 KiB pieces (the client holds the body only to check it)."""
    hwm_reset = reset_hwm(pid)
    before = status_kb(pid, "VmRSS")
    hwm_before = status_kb(pid, "VmHWM")
    poller = RssPoller(pid)
    poller.start()
    pieces = []
    t = time.time()
    with request(base, key, "GET", path) as r:
        headers = {k.lower(): v for k, v in r.headers.items()}
        first_byte_s = None
        arrivals = []  # (seconds since the request, bytes so far)
        received = 0
        while True:
            piece = r.read(65536)
            if not piece:
                break
            if first_byte_s is None:
                first_byte_s = time.time() - t
            pieces.append(piece)
            received += len(piece)
            arrivals.append((time.time() - t, received))
    wall_s = time.time() - t
    # When the first half of the body had arrived: about wall_s / 2 if the server's time per
    # row stays the same along the export, less if later rows cost more.
    half_s = next((s for s, b in arrivals if b * 2 >= received), wall_s)
    poller.stop.set()
    poller.join()
    after = status_kb(pid, "VmRSS")
    hwm_after = status_kb(pid, "VmHWM")
    body = b"".join(pieces)
    return body, {
        "s": wall_s,
        "first_byte_s": first_byte_s,
        "half_s": half_s,
        "bytes": len(body),
        "rss_before_kb": before,
        "rss_polled_peak_kb": max(poller.peak, before, after),
        "rss_after_kb": after,
        "hwm_before_kb": hwm_before,
        "hwm_after_kb": hwm_after,
        "hwm_reset": hwm_reset,
        "poll_samples": poller.samples,
        "chunked": headers.get("transfer-encoding", "") == "chunked"
        and "content-length" not in headers,
    }


def summarise(runs):
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    return {
        "s_median": round(med("s"), 3),
        "s_all": [round(r["s"], 3) for r in runs],
        "first_byte_s_median": round(med("first_byte_s"), 3),
        "first_half_of_bytes_s_median": round(med("half_s"), 3),
        "bytes": runs[0]["bytes"],
        "rss_mb_before_peak_after_median": [
            mb(med("rss_before_kb")), mb(med("rss_polled_peak_kb")), mb(med("rss_after_kb"))],
        "rss_mb_peak_max": mb(max(r["rss_polled_peak_kb"] for r in runs)),
        "rss_mb_before_peak_after_each": [
            [mb(r["rss_before_kb"]), mb(r["rss_polled_peak_kb"]), mb(r["rss_after_kb"])]
            for r in runs],
        # With hwm_reset, VmHWM after the export is the exact peak RSS during it.
        "vmhwm_mb_before_after_median": [mb(med("hwm_before_kb")), mb(med("hwm_after_kb"))],
        "vmhwm_reset_before_each": all(r["hwm_reset"] for r in runs),
        "rss_poll_samples_median": med("poll_samples"),
        "chunked_no_content_length": all(r["chunked"] for r in runs),
    }


def chunks(items, size=MAX_CODES):
    return [items[i:i + size] for i in range(0, len(items), size)]


def bulk(base, key, pid_, codes, change):
    """Bulk review of any number of codes, ≤ MAX_CODES per request; returns (seconds, refused)."""
    t = time.time()
    refused = 0
    for part in chunks(codes):
        payload, _ = call(base, key, "POST", f"/v1/mapping/projects/{pid_}/bulk",
                          dict(change, codes=part))
        refused += json.loads(payload)["refused"]
    return time.time() - t, refused


def main():
    base, admin, mapper, mapper2, pid = sys.argv[1:6]
    n = int(sys.argv[6]) if len(sys.argv) > 6 else 10000
    db = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] else None
    export_runs = int(sys.argv[8]) if len(sys.argv) > 8 else 3
    targets = []
    if db:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        targets = [r[0] for r in con.execute(
            "SELECT DISTINCT code FROM concepts WHERE system_key='hot9' AND valid_to IS NULL "
            "AND status='active' ORDER BY code LIMIT 1")]
        con.close()
    target = targets[0] if targets else "620000001"
    rss_start = status_kb(pid, "VmRSS")
    project, _ = call(base, admin, "POST", "/v1/mapping/projects",
                      {"name": f"bench {n} {time.time()}", "local_system": "urn:oid:1.2.3.4",
                       "target_systems": ["hot9"]})
    pid_ = json.loads(project)["id"]
    width = max(6, len(str(n - 1)))
    codes = [f"L{i:0{width}d}" for i in range(n)]
    rows = "code,name,frequency\n" + "".join(
        f"{c},院内薬{i},{n - i}\n" for i, c in enumerate(codes))
    t = time.time()
    call(base, mapper, "POST", f"/v1/mapping/projects/{pid_}/local-codes", rows.encode(), "text/csv")
    upload_s = time.time() - t
    propose_s, propose_refused = bulk(
        base, mapper, pid_, codes,
        {"action": "propose", "target_system": "hot9", "target_code": target})
    approve_s, approve_refused = bulk(base, mapper2, pid_, codes, {"action": "approve"})
    sample = codes[:MAX_CODES]
    times = []
    translated = None
    for _ in range(11):
        payload, ms = call(base, mapper, "POST", f"/v1/mapping/projects/{pid_}/translate",
                           {"codes": sample})
        times.append(ms)
        if translated is None:
            translated = sum(1 for it in json.loads(payload)["items"]
                             if it["result"] == "translated")
    # Before the exports reset it: the server's peak so far (upload, bulk review, translation).
    rss_pre_export = status_kb(pid, "VmRSS")
    hwm_pre_export = status_kb(pid, "VmHWM")
    exports = {}
    for name, fmt in (("csv", "csv"), ("conceptmap", "conceptmap")):
        runs = []
        body = b""
        for _ in range(export_runs):
            body, run = export_once(base, mapper, pid,
                                    f"/v1/mapping/projects/{pid_}/export?format={fmt}")
            runs.append(run)
        result = summarise(runs)
        if fmt == "csv":
            # Data rows (header excluded); names hold no line breaks.
            result["rows"] = body.count(b"\n") - 1
        else:
            doc = json.loads(body)
            result["mappings"] = sum(len(e) for g in doc.get("group", [])
                                     for e in [g.get("element", [])])
        exports[name] = result
    print(json.dumps({
        "local_codes": n,
        "project": pid_,
        "upload_s": round(upload_s, 2),
        "bulk_requests_per_step": len(chunks(codes)),
        "bulk_propose_s": round(propose_s, 2),
        "bulk_approve_s": round(approve_s, 2),
        "bulk_propose_and_approve_s": round(propose_s + approve_s, 2),
        "bulk_refused": propose_refused + approve_refused,
        "translate_codes_per_call": len(sample),
        "translate_translated": translated,
        "translate_first_ms": times[0],
        "translate_warm_median_ms": statistics.median(times[1:]),
        "translate_warm_min_max_ms": [min(times[1:]), max(times[1:])],
        "server_rss_mb_at_start": mb(rss_start),
        "server_rss_mb_before_exports": mb(rss_pre_export),
        "server_vmhwm_mb_before_exports": mb(hwm_pre_export),
        "export_runs": export_runs,
        "export_csv": exports["csv"],
        "export_conceptmap": exports["conceptmap"],
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
