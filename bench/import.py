"""Import: Ontraport calls, wall time against the rate-limit floor, peak memory, and webhooks during it.

    .venv/bin/python bench/import.py [--size 10000] [--webhooks 20] [--database sqlite|postgres]
                                     [--memory-sizes 1000,10000] [--json]

A sandbox at Ontraport's real limit (180 calls per rolling 60 s) holds --size contacts tagged "Members"
and --webhooks more that are not. The site runs as in production (gunicorn + one db_worker) on a fresh
database. `manage.py ontraport_import --tag Members` runs in a child process that records its own peak RSS
and the seconds its pacer slept; while it runs, one webhook a second is sent for the untagged contacts.
Every contact carries --custom-fields custom field values (default 200), --mapped of them mapped (default 5).
Printed: the import's calls and calls ÷ ceil(N/50); the bytes received per contact, and one page's bytes
per contact with the client's listFields against whole records (their ratio); wall time ÷ (the
rate-limit floor + processing time), where the floor is what 180 calls a minute impose on that many
calls (the first 180 go at once) and processing is the wall time minus the pacer's sleeps; the import's
peak RSS; and each webhook's latency from its answer to its contact applied (Delivery.received_at →
finished_at), p50/p95/max.
--memory-sizes then imports those sizes with no rate limit, for the peak RSS alone.
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import resource
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ACCESS_KEY,
    CUSTOM_FIELDS,
    MAPPED,
    PYTHON,
    ROOT,
    bytes_figures,
    custom_field_values,
    fields_mapped,
    free_port,
    fresh_database,
    gunicorn,
    load,
    machine,
    manage,
    site_env,
    spawn,
    stop,
)

LIMIT = 180
RESERVE = 60  # FUSION_BULK_RESERVE's default
WINDOW = 60.0
FIRST_ID = 100_000
WEBHOOK_FIRST_ID = 900_000


def peak_rss_mb() -> float:
    """This process's peak RSS since it exec'd: VmHWM. Not getrusage's ru_maxrss, which Linux carries over
    from before the exec, i.e. from the parent forked (the bench, holding the seed data: 10,000 contacts of
    200 custom fields showed as 294 MB of "import")."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child() -> None:
    """The import, in this process: Django from the environment; prints one JSON line."""
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command

    from accounts.ontraport import ontraport_bulk_client

    client = ontraport_bulk_client()
    pacer = client.pacer
    slept = [0.0]
    original_sleep = pacer.sleep

    def sleep(seconds: float) -> None:  # the pacer's waits, summed: wall time minus them is processing
        slept[0] += max(seconds, 0.0)
        original_sleep(seconds)

    pacer.sleep = sleep  # type: ignore[method-assign]
    out = StringIO()
    started = time.perf_counter()
    call_command("ontraport_import", "--tag", "Members", "--json", stdout=out)
    wall = time.perf_counter() - started
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    summary.update(
        wall_seconds=round(wall, 2),
        paced_seconds=round(slept[0], 2),
        maxrss_mb=peak_rss_mb(),
    )
    print(json.dumps(summary), flush=True)


def seed(control: str, size: int, webhooks: int, rate_limit: int, custom_fields: int) -> None:
    from ontraport_client.sandbox import SandboxControl

    sandbox = SandboxControl(control)
    sandbox.reset(data="empty", rate_limit=rate_limit, window=WINDOW)
    sandbox.add_tag("Members", 1)
    sandbox.add_tag("Other", 2)
    for start in range(0, size, 5000):
        ids = range(FIRST_ID + start, FIRST_ID + min(start + 5000, size))
        sandbox.add_contacts(
            [
                {"id": i, "firstname": f"M{i}", "lastname": "Bench", "email": f"m{i}@example.com"}
                | {"contact_cat": "*/*1*/*"}
                | custom_field_values(i, custom_fields)
                for i in ids
            ]
        )
    sandbox.add_contacts(
        [
            {
                "id": i,
                "firstname": f"W{i}",
                "lastname": "Hook",
                "email": f"w{i}@example.com",
                "contact_cat": "*/*2*/*",
            }
            for i in range(WEBHOOK_FIRST_ID, WEBHOOK_FIRST_ID + webhooks)
        ]
    )


def run_import(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    # Text mode, so not bench.common.spawn: registered with its stop_all below by hand.
    process = subprocess.Popen(
        [PYTHON, __file__, "--child"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    atexit.register(lambda: process.poll() is None and (process.kill(), process.wait()))
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    return process, lines


def send_webhooks(base: str, count: int, stop_event: threading.Event) -> int:
    sent = 0
    for contact_id in range(WEBHOOK_FIRST_ID, WEBHOOK_FIRST_ID + count):
        if stop_event.is_set():
            break
        query = urlencode({"wpf_action": "add", "access_key": ACCESS_KEY, "contact_id": contact_id})
        with urllib.request.urlopen(f"{base}/?{query}", timeout=30) as answer:
            answer.read()
        sent += 1
        time.sleep(1.0)
    return sent


def latencies(env: dict[str, str]) -> list[float]:
    script = (
        "from webhooks.models import Delivery\n"
        "import json\n"
        "rows = Delivery.objects.filter(source='webhook').values_list('received_at', 'finished_at')\n"
        "print(json.dumps([(f - r).total_seconds() if f else None for r, f in rows]))\n"
    )
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [x if x is not None else math.inf for x in json.loads(output.strip().splitlines()[-1])]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(
    args: argparse.Namespace, control: str, api: str, size: int, webhooks: int, rate_limit: int
) -> dict:
    seed(control, size, webhooks, rate_limit, args.custom_fields)
    env = site_env(
        fresh_database(args.database, "bench_fusion_import"),
        ONTRAPORT_API_URL=api,
        ONTRAPORT_APP_ID="sandbox-app",
        ONTRAPORT_API_KEY="sandbox-key",
        FUSION_RESYNC_EVERY="0",
        FUSION_COALESCE_SECONDS="0",
    )
    manage(env, "migrate", "--noinput")
    mapped = fields_mapped(env, args.mapped)
    result: dict = {"size": size, "rate_limit": rate_limit}
    received_before = _tag_bytes(control)
    worker = spawn(
        [PYTHON, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with gunicorn(env, workers=1) as base:
            importer, lines = run_import(env)
            done = threading.Event()
            sender = threading.Thread(
                target=lambda: result.update(webhooks_sent=send_webhooks(base, webhooks, done)), daemon=True
            )
            time.sleep(2.0)  # the import is under way
            sender.start()
            importer.wait()
            done.set()
            sender.join(timeout=60)
            time.sleep(3.0)  # the last webhooks' drain
            result.update(json.loads(lines[-1]))
            if webhooks:
                waits = latencies(env)
                result["webhook_latency"] = {
                    "count": len(waits),
                    "p50": round(percentile(waits, 0.5), 2),
                    "p95": round(percentile(waits, 0.95), 2),
                    "max": round(max(waits), 2),
                }
    finally:
        stop(worker)
    result.update(
        bytes_figures(
            origin=control,
            received=_tag_bytes(control) - received_before,
            contacts=result["processed"],
            path="objects/tag",
            params={"objectID": 0, "tag_id": 1, "start": 0, "range": 50},
            mapped=mapped,
        )
    )
    calls = result["ontraport_calls"]
    result["calls_per_page"] = round(calls / math.ceil(size / 50), 3)
    if rate_limit:
        # The first `limit` calls go at once; each later one waits for a call to leave the window.
        floor = max(0, calls - rate_limit) * WINDOW / rate_limit
        processing = result["wall_seconds"] - result["paced_seconds"]
        result["floor_seconds"] = round(floor, 1)
        result["processing_seconds"] = round(processing, 1)
        result["wall_over_floor_plus_processing"] = round(result["wall_seconds"] / (floor + processing), 2)
        # Bulk work leaves FUSION_BULK_RESERVE calls of each window to webhooks: its own floor is higher.
        share = rate_limit - RESERVE
        reserve_floor = max(0, calls - share) * WINDOW / share
        result["floor_with_reserve_seconds"] = round(reserve_floor, 1)
        result["wall_over_reserve_floor_plus_processing"] = round(
            result["wall_seconds"] / (reserve_floor + processing), 2
        )
    result["load"] = load()
    return result


def _tag_bytes(control: str) -> int:
    """Bytes of every objects/tag answer so far: the import's pages and its count."""
    from ontraport_client.sandbox import SandboxControl

    return int(SandboxControl(control).stats()["bytes_by_endpoint"].get("GET /objects/tag", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--custom-fields", type=int, default=CUSTOM_FIELDS, help="custom fields per contact")
    parser.add_argument("--mapped", type=int, default=MAPPED, help="how many of them the site maps")
    parser.add_argument("--memory-sizes", default="", help="e.g. 1000,10000: peak RSS with no rate limit")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    port = free_port()
    sandbox = spawn(
        [PYTHON, "-m", "ontraport_client.sandbox", "--port", str(port), "--data", "empty", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    from ontraport_client.sandbox import SandboxControl

    SandboxControl(origin).wait_until_ready()
    results: dict = {"machine": machine()}
    try:
        main_result = measure(args, origin, f"{origin}/1/", args.size, args.webhooks, LIMIT)
        results["import"] = main_result
        if not args.json:
            r = main_result
            print(
                f"import of {r['size']:,} contacts ({args.database}, {LIMIT} calls/min): "
                f"{r['ontraport_calls']} calls = {r['calls_per_page']} x ceil(N/50); "
                f"wall {r['wall_seconds']} s = {r['wall_over_floor_plus_processing']} x "
                f"(floor {r['floor_seconds']} s + processing {r['processing_seconds']} s) = "
                f"{r['wall_over_reserve_floor_plus_processing']} x (floor with the reserve "
                f"{r['floor_with_reserve_seconds']} s + processing); "
                f"peak RSS {r['maxrss_mb']} MB; created {r['created']}",
                flush=True,
            )
            print(
                f"bytes received per contact {r['bytes_received_per_contact']} "
                f"({args.custom_fields} custom fields, {args.mapped} mapped); a page with listFields "
                f"{r['page_bytes_per_contact_listfields']} B/contact, whole records "
                f"{r['page_bytes_per_contact_whole_records']} B/contact: {r['listfields_over_whole']} x",
                flush=True,
            )
            if "webhook_latency" in r:
                w = r["webhook_latency"]
                print(
                    f"{w['count']} webhooks during the import: answer -> applied p50 {w['p50']} s, "
                    f"p95 {w['p95']} s, max {w['max']} s; {r['load']}",
                    flush=True,
                )
        results["memory"] = []
        for size in (int(s) for s in args.memory_sizes.split(",") if s):
            memory = measure(args, origin, f"{origin}/1/", size, 0, 0)
            results["memory"].append(memory)
            if not args.json:
                print(
                    f"memory: import of {size:,} contacts (no rate limit): "
                    f"peak RSS {memory['maxrss_mb']} MB, {memory['wall_seconds']} s, "
                    f"{memory['ontraport_calls']} calls; {memory['load']}",
                    flush=True,
                )
    finally:
        stop(sandbox)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
