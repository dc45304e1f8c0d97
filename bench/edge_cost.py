"""Edge cost: CPU time per request of the webhook, the durable floor and a bare view, in one process.

    .venv/bin/python bench/edge_cost.py --requests 3000 --rounds 5 [--database sqlite|postgres] [--json]

The same three endpoints as bench/ingest.py (bench/benchsite), called through Django's WSGI handler in this
process (no server, no sockets), one request after the other. The figure is CPU time (time.process_time),
so another process on the machine slows the run down but hardly moves it: on a shared, loaded machine it
says what the endpoint's own code costs when wrk's req/s cannot. On SQLite the database's work is in this
process and counted; on PostgreSQL only the site's side is (the server's CPU is its own). The wake-up and
the counters' flush run as they do under gunicorn: when the response is closed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ACCESS_KEY, PYTHON, ROOT, fresh_database, load, machine, manage, site_env

ENDPOINTS = {
    "webhook": ("/", f"wpf_action=update&access_key={ACCESS_KEY}&contact_id="),
    "floor": ("/bench/floor/", "contact_id="),
    "bare": ("/bench/bare/", "contact_id="),
}


def measure(requests: int, rounds: int) -> dict[str, list[float]]:
    """In the child process: µs of CPU per request, per round, per endpoint (order rotated)."""
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        assert status[:3] in ("200", "202"), status

    def call(path: str, query: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        response = handler(environ, start_response)
        b"".join(response)
        response.close()  # as a WSGI server does: Django's closers run here

    names = list(ENDPOINTS)
    for name in names:  # warm-up: imports, connections, caches
        path, query = ENDPOINTS[name]
        for n in range(300):
            call(path, f"{query}{n + 1}")
    cost: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        for name in names[round_number % 3 :] + names[: round_number % 3]:
            path, query = ENDPOINTS[name]
            started = time.process_time()
            for n in range(requests):
                call(path, f"{query}{n % 20000 + 1}")
            cost[name].append((time.process_time() - started) / requests * 1e6)
    return cost


def drop_database(kind: str, url: str) -> None:
    """This run's own database, gone (its name is this process's: nobody else's is touched)."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args.requests, args.rounds)))
        return
    database_url = fresh_database(args.database, f"bench_fusion_edge_{os.getpid()}")
    env = site_env(database_url)
    manage(env, "migrate", "--noinput")
    load_before = load()
    command = [PYTHON, __file__, "--child", "--requests", str(args.requests), "--rounds", str(args.rounds)]
    try:
        output = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    finally:
        drop_database(args.database, database_url)
    cost = json.loads(output.strip().splitlines()[-1])
    median = {name: round(statistics.median(values), 1) for name, values in cost.items()}
    report = {
        "database": args.database,
        "requests": args.requests,
        "rounds": args.rounds,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "cpu_us_per_request": median,
        "rounds_us": cost,
        "webhook_over_floor": round(median["webhook"] / median["floor"], 3),
        "webhook_minus_floor_us": round(median["webhook"] - median["floor"], 1),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"edge cost on {args.database}: {args.requests} requests x {args.rounds} rounds, one process, CPU; "
        f"{report['load_before']} -> {report['load_after']}"
    )
    for name, value in median.items():
        print(f"  {name:8} {value:7.1f} µs CPU per request (median of rounds)")
    print(
        f"  webhook/floor CPU {report['webhook_over_floor']:.3f}   "
        f"webhook - floor {report['webhook_minus_floor_us']:+.1f} µs"
    )
    if args.database == "postgres":
        print("  (PostgreSQL: the site's side only; the server's CPU is not counted)")


if __name__ == "__main__":
    main()
