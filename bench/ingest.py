"""Ingest: the webhook endpoint against the durable floor and a bare view, in the same run.

    .venv/bin/python bench/ingest.py --requests 20000 --concurrency 32 --database sqlite [--json]

Starts the site under gunicorn (2 sync workers, production settings from the environment, a fresh
database, migrated) with the bench settings (bench/benchsite), then loads from a separate process (wrk):
  webhook  /?wpf_action=update&access_key=KEY&contact_id=N   (the real endpoint: parse, key, INSERT, wake)
  floor    /bench/floor/?contact_id=N   (INSERT one Delivery-shaped row and commit: the least durable work)
  bare     /bench/bare/?contact_id=N    (answer 200)
wrk runs for a time, not a count: each endpoint's run lasts what its warm-up rate needs for about
--requests requests (3 s to 120 s). Each round runs the three one after the other (order rotated
between rounds); the figures are the median over rounds. Then 200 sequential requests to an idle server
(new connection each, 10 ms apart, timed by this client) give the unloaded p50/p99.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ACCESS_KEY, fresh_database, gunicorn, load, machine, manage, require_wrk, site_env

LUA = r"""
local prefix, sent = "", 0
function init(args)
  prefix = args[1]
end
function request()
  sent = sent + 1
  return wrk.format("GET", prefix .. tostring(sent % 20000 + 1))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

ENDPOINTS = {
    "webhook": f"/?wpf_action=update&access_key={ACCESS_KEY}&contact_id=",
    "floor": "/bench/floor/?contact_id=",
    "bare": "/bench/bare/?contact_id=",
}


def wrk_run(wrk: str, script: str, base: str, prefix: str, seconds: float, concurrency: int) -> dict:
    # One wrk thread: it needs a fraction of a core; the rest is left to gunicorn and the database.
    command = [
        wrk,
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        script,
        base,
        "--",
        prefix,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    seconds = result["duration_us"] / 1e6
    return {
        "requests": result["requests"],
        "rps": round(result["requests"] / seconds, 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "max_ms": round(result["max_us"] / 1000, 2),
        "errors": sum(result["errors"].values()),
    }


def sequential(url: str, count: int) -> dict:
    """`count` requests one after the other, each alone on an idle server (a pause between them)."""
    latencies = []
    parts = urllib.parse.urlsplit(url)
    for n in range(count):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        start = time.perf_counter()
        connection.request("GET", f"{parts.path}?{parts.query}{n + 1}")
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        connection.close()
        assert response.status in (200, 202), response.status
        time.sleep(0.01)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


def median_of(runs: list[dict]) -> dict:
    return {
        "rps": round(statistics.median(r["rps"] for r in runs), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "errors": sum(r["errors"] for r in runs),
        "rounds": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--requests", type=int, default=10000, help="about this many requests per endpoint per round"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--unloaded", type=int, default=200, help="sequential requests for the idle p99")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    wrk = require_wrk()
    database_url = fresh_database(args.database, "bench_fusion_ingest")
    env = site_env(database_url)
    manage(env, "migrate", "--noinput")
    load_before = load()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
        script_file.write(LUA)
    script = script_file.name
    runs: dict[str, list[dict]] = {name: [] for name in ENDPOINTS}
    unloaded: dict[str, dict] = {}
    started = time.monotonic()
    with gunicorn(env) as base:
        names = list(ENDPOINTS)
        # Warm-up (imports, connections, page cache), which also sizes each run: wrk runs for a time, so
        # each endpoint gets the time its warm-up rate needs for about --requests requests.
        seconds = {}
        for name in names:
            warm = wrk_run(wrk, script, base, ENDPOINTS[name], 2, args.concurrency)
            seconds[name] = min(max(args.requests / max(warm["rps"], 1.0), 3.0), 120.0)
        for round_number in range(args.rounds):
            order = names[round_number % 3 :] + names[: round_number % 3]
            for name in order:
                runs[name].append(
                    wrk_run(wrk, script, base, ENDPOINTS[name], seconds[name], args.concurrency)
                )
        time.sleep(2)  # let the server go idle
        for name in ("webhook", "floor"):
            unloaded[name] = sequential(base + ENDPOINTS[name], args.unloaded)
    Path(script).unlink()

    results = {name: median_of(r) for name, r in runs.items()}
    webhook, floor, bare = results["webhook"], results["floor"], results["bare"]
    report = {
        "database": args.database,
        "requests": args.requests,
        "run_seconds": {name: round(s, 1) for name, s in seconds.items()},
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "seconds": round(time.monotonic() - started, 1),
        "webhook": webhook,
        "floor": floor,
        "bare": bare,
        "rps_webhook_over_floor": round(webhook["rps"] / floor["rps"], 3),
        "rps_webhook_over_bare": round(webhook["rps"] / bare["rps"], 3),
        "rps_floor_over_bare": round(floor["rps"] / bare["rps"], 3),
        "p99_webhook_over_floor": round(webhook["p99_ms"] / floor["p99_ms"], 3),
        "unloaded_webhook_p99_ms": unloaded["webhook"]["p99_ms"],
        "unloaded_webhook_p50_ms": unloaded["webhook"]["p50_ms"],
        "unloaded_floor_p99_ms": unloaded["floor"]["p99_ms"],
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"ingest on {args.database}: {args.requests} requests x {args.rounds} rounds at concurrency "
        f"{args.concurrency}, gunicorn 2 sync workers; {report['load_before']} -> {report['load_after']}"
    )
    for name in ENDPOINTS:
        r = results[name]
        print(
            f"  {name:8} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
            f"   errors {r['errors']}"
        )
    print(
        f"  webhook/floor req/s {report['rps_webhook_over_floor']:.3f} (target >= 0.9)   "
        f"webhook/bare {report['rps_webhook_over_bare']:.3f}   floor/bare {report['rps_floor_over_bare']:.3f}"
    )
    print(f"  webhook/floor p99 {report['p99_webhook_over_floor']:.3f} (target <= 1.2)")
    print(
        f"  unloaded webhook ({args.unloaded} sequential): p50 {report['unloaded_webhook_p50_ms']} ms, "
        f"p99 {report['unloaded_webhook_p99_ms']} ms (target <= 5); "
        f"floor p99 {report['unloaded_floor_p99_ms']} ms"
    )


if __name__ == "__main__":
    main()
