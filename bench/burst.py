"""Burst: M webhooks over N contacts at Ontraport's real rate limit, drained by W db_worker processes.

    .venv/bin/python bench/burst.py --contacts 10000 --webhooks 20000 --workers 2 --window 60 [--json]

A sandbox (subprocess) holds N contacts and allows 180 API calls per --window seconds (60 is Ontraport's;
a shorter window scales time down: --window 6 is ten times faster with the same call arithmetic). The site
runs under gunicorn (2 sync workers, a fresh database) with W `manage.py db_worker` processes. M webhooks
are fired concurrently (16 client threads): every contact gets an `add` first (in shuffled order, mixed
with the rest), the other M-N webhooks are random update / update_tags for random contacts. Then the
script waits until every accepted delivery is finished and compares every user with its contact.

Figures: api_calls (every API request the sandbox saw), api_call_floor = ceil(unique/50),
contacts_calls / tag_list_calls / return_password_calls apart, rate_limited (429s), lost (accepted but
not done), wrong (users whose tags or names/e-mail differ from the contact), drain_s (first webhook sent
to last delivery finished), floor_s (the least time the limit allows for the calls the burst needs:
the first 180 go at once, then 180 per window).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ACCESS_KEY,
    PYTHON,
    ROOT,
    free_port,
    fresh_database,
    gunicorn,
    load,
    machine,
    manage,
    site_env,
    stop,
)

RATE = 180
TAGS = {1: "Customer", 2: "Newsletter", 3: "VIP", 4: "Webinar", 5: "Trial"}


def contact_rows(ids: range, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for i in ids:
        tags = sorted(rng.sample(list(TAGS), rng.randint(0, 3)))
        rows.append(
            {
                "id": str(i),
                "firstname": f"First{i}",
                "lastname": "Burst",
                "email": f"burst{i}@example.com",
                "contact_cat": ("*/*" + "*/*".join(map(str, tags)) + "*/*") if tags else "",
            }
        )
    return rows


def fire(base: str, calls: list[tuple[str, int]], threads: int = 16) -> dict[int, int]:
    """Send every (action, contact_id) as a GET webhook; returns a count per HTTP status."""
    host, port = base.removeprefix("http://").split(":")
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def send(call: tuple[str, int]) -> None:
        action, contact_id = call
        for attempt in range(3):
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request(
                    "GET", f"/?wpf_action={action}&access_key={ACCESS_KEY}&contact_id={contact_id}"
                )
                status = connection.getresponse().status
                connection.close()
                break
            except OSError:
                if attempt == 2:
                    status = 0
                time.sleep(0.1)
        with lock:
            counts[status] = counts.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, calls))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--webhooks", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--window", type=float, default=60.0, help="rate-limit window (180 calls per it)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after this long")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    assert args.webhooks >= args.contacts, "every contact gets at least its add"
    rng = random.Random(args.seed)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    port = free_port()
    sandbox = subprocess.Popen(
        [PYTHON, "-m", "ontraport_client.sandbox", "--port", str(port), "--data", "empty",
         "--rate-limit", str(RATE), "--window", str(args.window), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    from ontraport_client.sandbox import SandboxControl

    control = SandboxControl(origin)
    control.wait_until_ready()
    ids = range(200_000, 200_000 + args.contacts)
    contacts = contact_rows(ids, rng)
    for tag_id, name in TAGS.items():
        control.add_tag(name, tag_id)
    for start in range(0, len(contacts), 2000):
        control.add_contacts(contacts[start : start + 2000])

    database_url = fresh_database(args.database, "bench_fusion_burst")
    env = site_env(
        database_url,
        ONTRAPORT_API_URL=f"{origin}/1/",
        ONTRAPORT_APP_ID="sandbox-app",
        ONTRAPORT_API_KEY="sandbox-key",
    )
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()
    from django.db.models import Max, Min

    from accounts.models import User
    from webhooks.models import Delivery

    calls = [("add", i) for i in ids]
    calls += [
        (rng.choice(["update", "update_tags"]), rng.choice(ids)) for _ in range(args.webhooks - len(ids))
    ]
    rng.shuffle(calls)
    stats_before = control.stats()

    load_before = load()
    workers = []
    with gunicorn(env) as base:
        for n in range(args.workers):
            log = (ROOT / "var" / "bench" / f"burst-worker-{n}.log").open("wb")
            workers.append(
                subprocess.Popen(
                    [PYTHON, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        try:
            say(f"firing {len(calls)} webhooks over {args.contacts} contacts; {load_before}")
            started = time.time()
            answers = fire(base, calls)
            fired_s = time.time() - started
            say(f"fired in {fired_s:.1f} s: {answers}")
            accepted = answers.get(202, 0)
            deadline = time.monotonic() + args.timeout
            unfinished = Delivery.objects.filter(
                status__in=[Delivery.Status.PENDING, Delivery.Status.PROCESSING]
            )
            while unfinished.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            say(f"drained; {load()}")
        finally:
            for worker in workers:
                stop(worker)
    stats = control.stats()
    by_endpoint = stats["by_endpoint"]
    before = stats_before["by_endpoint"]

    def calls_to(endpoint: str) -> int:
        return by_endpoint.get(endpoint, 0) - before.get(endpoint, 0)

    times = Delivery.objects.aggregate(first=Min("received_at"), last=Max("finished_at"))
    drain_s = (times["last"].timestamp() - started) if times["last"] else None
    contacts_by_id = {int(c["id"]): c for c in contacts}
    wrong = 0
    users = User.objects.filter(contact_id__isnull=False).prefetch_related("tags")
    for user in users:
        contact = contacts_by_id[user.contact_id]
        tags = {int(t) for t in contact["contact_cat"].split("*/*") if t}
        if (
            {t.id for t in user.tags.all()} != tags
            or user.first_name != contact["firstname"]
            or user.last_name != contact["lastname"]
            or user.email != contact["email"]
        ):
            wrong += 1
    unique = len(set(ids))
    api_calls = stats["requests"] - stats_before["requests"]
    password_calls = calls_to("PUT /Contacts")
    tag_calls = sum(calls_to(e) for e in by_endpoint if "Tag" in e)
    floor_calls = math.ceil(unique / 50) + tag_calls + password_calls
    floor_s = math.floor((floor_calls - 1) / RATE) * args.window if floor_calls else 0.0
    done = Delivery.objects.filter(status=Delivery.Status.DONE).count()
    report = {
        "database": args.database,
        "workers": args.workers,
        "window": args.window,
        "webhooks": len(calls),
        "answers": answers,
        "accepted": accepted,
        "unique_contacts": unique,
        "api_calls": api_calls,
        "api_call_floor": math.ceil(unique / 50),
        "contacts_calls": calls_to("GET /Contacts"),
        "tag_list_calls": tag_calls,
        "return_password_calls": password_calls,
        "by_endpoint": {k: v - before.get(k, 0) for k, v in by_endpoint.items()},
        "calls_over_floor": round((api_calls - password_calls - tag_calls) / math.ceil(unique / 50), 3),
        "rate_limited": stats["rate_limited"] - stats_before["rate_limited"],
        "lost": accepted - done,
        "failed": Delivery.objects.filter(status=Delivery.Status.FAILED).count(),
        "wrong": wrong,
        "users_created": User.objects.filter(contact_id__isnull=False).count(),
        "fired_s": round(fired_s, 1),
        "drain_s": round(drain_s, 1) if drain_s is not None else None,
        "floor_s": floor_s,
        "drain_target_s": round(1.2 * floor_s + 30, 1),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
    }
    stop(sandbox)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
