#!/usr/bin/env python3
"""Mapping speed (issue 6) against a running hyojun server (release build) with real HOT data:
upload N local codes, propose and approve a HOT9 target for each (bulk, two mappers), then
time batch translation of N codes (server time from the Server-Timing header) and a CSV export
of every mapping (wall time, bytes, the server's RSS before and after).

Usage: mapping_bench.py BASE_URL ADMIN_KEY MAPPER_KEY MAPPER2_KEY SERVER_PID [N=10000]
Python 3 standard library only; prints one JSON object.
"""

import json
import sqlite3
import statistics
import sys
import time
import urllib.request


def call(base, key, method, path, body=None, content_type="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=600) as r:
        timing = r.headers.get("server-timing", "")
        payload = r.read()
    ms = float(timing.split("dur=")[1]) if "dur=" in timing else None
    return payload, ms


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    base, admin, mapper, mapper2, pid = sys.argv[1:6]
    n = int(sys.argv[6]) if len(sys.argv) > 6 else 10000
    db = sys.argv[7] if len(sys.argv) > 7 else None
    targets = []
    if db:
        con = sqlite3.connect(db)
        targets = [r[0] for r in con.execute(
            "SELECT DISTINCT code FROM concepts WHERE system_key='hot9' AND valid_to IS NULL "
            "AND status='active' ORDER BY code LIMIT 1")]
    target = targets[0] if targets else "620000001"
    project, _ = call(base, admin, "POST", "/v1/mapping/projects",
                      {"name": f"bench {time.time()}", "local_system": "urn:oid:1.2.3.4",
                       "target_systems": ["hot9"]})
    pid_ = json.loads(project)["id"]
    rows = "code,name,frequency\n" + "".join(f"L{i:06d},院内薬{i},{n - i}\n" for i in range(n))
    t = time.time()
    call(base, mapper, "POST", f"/v1/mapping/projects/{pid_}/local-codes", rows.encode(), "text/csv")
    upload_s = time.time() - t
    codes = [f"L{i:06d}" for i in range(n)]
    t = time.time()
    call(base, mapper, "POST", f"/v1/mapping/projects/{pid_}/bulk",
         {"codes": codes, "action": "propose", "target_system": "hot9", "target_code": target})
    call(base, mapper2, "POST", f"/v1/mapping/projects/{pid_}/bulk",
         {"codes": codes, "action": "approve"})
    review_s = time.time() - t
    times = []
    for _ in range(11):
        _, ms = call(base, mapper, "POST", f"/v1/mapping/projects/{pid_}/translate", {"codes": codes})
        times.append(ms)
    before = rss_kb(pid)
    t = time.time()
    body, _ = call(base, mapper, "GET", f"/v1/mapping/projects/{pid_}/export?format=csv")
    export_s = time.time() - t
    after = rss_kb(pid)
    print(json.dumps({
        "local_codes": n,
        "upload_s": round(upload_s, 2),
        "bulk_propose_and_approve_s": round(review_s, 2),
        "translate_first_ms": times[0],
        "translate_warm_median_ms": statistics.median(times[1:]),
        "translate_warm_min_max_ms": [min(times[1:]), max(times[1:])],
        "export_csv_s": round(export_s, 2),
        "export_bytes": len(body),
        "server_rss_mb_before_after_export": [round(before / 1024, 1), round(after / 1024, 1)],
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
