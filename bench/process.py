"""Processing: deliveries per second for one worker, and its peak memory as the burst grows.

    .venv/bin/python bench/process.py [--size 2000] [--memory-sizes 1000,5000,10000] [--json]

An unlimited sandbox (a subprocess) holds the contacts; each measurement runs in a fresh child process
(so ru_maxrss is that run's peak) against a fresh database, seeds pending Delivery rows directly and
drains them in-process with the worker's own task (`process_deliveries.call()` until none is pending):
  update  every contact already has its user (created by an untimed drain first); its tags changed since
  add     every delivery is an `add` of a contact with no user: one new user each
Measured: SQLite and PostgreSQL at --size, then PostgreSQL updates at each --memory-sizes for memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    free_port,
    fresh_database,
    load,
    machine,
    manage,
    site_env,
    spawn,
    stop,
)

TAGS = {1: "Customer", 2: "Newsletter", 3: "VIP", 4: "Webinar", 5: "Trial"}


def contacts(ids: range, tags: str) -> list[dict[str, str]]:
    return [
        {
            "id": str(i),
            "firstname": f"First{i}",
            "lastname": "Bench",
            "email": f"bench{i}@example.com",
            "contact_cat": tags,
        }
        for i in ids
    ]


def child(args: argparse.Namespace) -> None:
    """One measurement, in this (fresh) process: Django is set up from the environment the parent gave."""
    import django

    django.setup()
    from django.db import connection

    from ontraport_client.sandbox import SandboxControl
    from webhooks.models import Delivery
    from webhooks.tasks import process_deliveries

    sandbox = SandboxControl(os.environ["BENCH_SANDBOX_CONTROL"])
    ids = range(100_000, 100_000 + args.size)
    sandbox.reset(data="empty", rate_limit=0)
    for tag_id, name in TAGS.items():
        sandbox.add_tag(name, tag_id)
    sandbox.add_contacts(contacts(ids, "*/*1*/*2*/*"))

    def seed(action: str) -> None:
        Delivery.objects.bulk_create(
            [Delivery(action=action, contact_id=i, method="GET", path="/") for i in ids], batch_size=1000
        )

    def drain() -> int:
        calls = 0
        while Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
            process_deliveries.call()
            calls += 1
        return calls

    if args.scenario == "update":
        seed("add")
        drain()  # untimed: the users exist before the measured updates
        sandbox.add_contacts(contacts(ids, "*/*1*/*3*/*4*/*"))  # tags changed: 2 removed, 3 and 4 applied
        seed("update")
    else:
        seed("add")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    drain()
    seconds = time.perf_counter() - started
    done = Delivery.objects.filter(status=Delivery.Status.DONE, action=args.scenario).count()
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "scenario": args.scenario,
                "size": args.size,
                "done": done,
                "seconds": round(seconds, 2),
                "per_second": round(done / seconds, 1),
                "maxrss_mb_before": round(rss_before / 1024, 1),
                "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "load": load(),
            }
        )
    )


def measure(database: str, scenario: str, size: int, sandbox_control: str, api_url: str) -> dict:
    database_url = fresh_database(database, "bench_fusion_process")
    env = site_env(
        database_url,
        ONTRAPORT_API_URL=api_url,
        ONTRAPORT_APP_ID="sandbox-app",
        ONTRAPORT_API_KEY="sandbox-key",
        BENCH_SANDBOX_CONTROL=sandbox_control,
        DJANGO_SETTINGS_MODULE="fusion_site.settings",
        # The rows are seeded all at once, which the worker rightly takes for a burst and holds for a
        # couple of seconds: this bench measures applying them (bench/burst.py measures the hold).
        FUSION_BURST_RATE="0",
    )
    manage(env, "migrate", "--noinput")
    command = [PYTHON, __file__, "--child", "--scenario", scenario, "--size", str(size)]
    output = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--memory-sizes", default="1000,5000,10000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=["update", "add"], default="update", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    port = free_port()
    sandbox = spawn(
        [
            PYTHON,
            "-m",
            "ontraport_client.sandbox",
            "--port",
            str(port),
            "--data",
            "empty",
            "--rate-limit",
            "0",
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    from ontraport_client.sandbox import SandboxControl

    SandboxControl(origin).wait_until_ready()
    results: dict[str, list[dict]] = {"rates": [], "memory": []}
    load_before = load()
    try:
        for database in args.databases.split(","):
            for scenario in ("update", "add"):
                result = measure(database, scenario, args.size, origin, f"{origin}/1/")
                results["rates"].append(result)
                if not args.json:
                    print(
                        f"{database:8} {scenario:6} {result['size']:6} deliveries: "
                        f"{result['per_second']:7.1f}/s"
                        f"  ({result['seconds']} s, peak RSS {result['maxrss_mb']} MB; {result['load']})",
                        flush=True,
                    )
        for size in (int(s) for s in args.memory_sizes.split(",") if s):
            result = measure("postgres", "update", size, origin, f"{origin}/1/")
            results["memory"].append(result)
            if not args.json:
                print(
                    f"memory   update {size:6} deliveries: peak RSS {result['maxrss_mb']} MB"
                    f" (before the drain {result['maxrss_mb_before']} MB), {result['per_second']}/s"
                    f"; {result['load']}",
                    flush=True,
                )
    finally:
        stop(sandbox)
    if args.json:
        print(json.dumps({"machine": machine(), "load_before": load_before, "load_after": load(), **results}))


if __name__ == "__main__":
    main()
