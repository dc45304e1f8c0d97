"""Push: N site users gain one tag from code while a burst of webhooks arrives; the outbox sends them.

    python bench/push.py --users 10000 --webhooks 2000 --workers 2 --window 60 [--database sqlite] [--json]

A sandbox (subprocess) holds a contact for each user and allows 180 API calls per --window seconds (60 is
Ontraport's; a shorter window scales time down with the same call arithmetic). The site runs under
gunicorn with W `manage.py fusion_worker` processes on a fresh database. First one user's tag is applied
while nothing else is going on (the admin's edit: `edit_applied_s`, commit to the tag seen on the contact).
Then this process applies one tag to every user with the service API (`user_tags_apply`, one transaction
each, as code on a site would) while --webhooks `update_tags` webhooks for random contacts are fired at
the site, and waits until every change is sent and every delivery finished.

Figures: users, calls (the Ontraport calls the outbox made for them: tag calls, tag look-ups, contact
writes), floor = ceil(users / 50), lost (changes not sent + contacts without the tag + webhooks accepted
and not done), p95_commit_to_applied_s (a change's commit to its send's answer), webhook_p95_s (a
webhook's arrival to its delivery done), edit_applied_s, rate_limited (429s) and the drain time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.burst import RATE, fire, sandbox_seeded, sandbox_site_env
from bench.common import (
    fresh_database,
    gunicorn,
    load,
    machine,
    manage,
    stop,
    workers_start,
)

PUSHED_TAG = (9, "Pushed")  # the tag every user gains (none of the sandbox's contacts has it)
EDIT_TAG = (10, "Edited in the admin")
OUTBOX_ENDPOINTS = ("PUT /objects/tag", "DELETE /objects/tag", "POST /Tags", "GET /Tags")


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=20, method="inclusive")[18], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--window", type=float, default=60.0, help="rate-limit window (180 calls per it)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up waiting after this long")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    ids = range(300_000, 300_000 + args.users)
    sandbox, control, origin, contacts = sandbox_seeded(args.window, ids, rng)
    for tag_id, name in (PUSHED_TAG, EDIT_TAG):
        control.add_tag(name, tag_id)
    database_url = fresh_database(args.database, "bench_fusion_push")
    env = sandbox_site_env(database_url, origin, args.window)
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import transaction
    from django.db.models import Count

    from accounts.models import OutboxChange, Tag, User
    from accounts.services.outbox import user_tags_apply
    from ontraport_client.contact import parse_tag_ids
    from webhooks.models import Delivery

    Tag.objects.bulk_create([Tag(id=tag_id, name=name) for tag_id, name in (PUSHED_TAG, EDIT_TAG)])
    Tag.objects.bulk_create([Tag(id=tag_id) for tag_id in range(1, 6)], ignore_conflicts=True)
    users = User.objects.bulk_create(
        [
            User(
                username=f"push{row['id']}",
                email=row["email"],
                first_name=row["firstname"],
                last_name=row["lastname"],
                contact_id=int(row["id"]),
            )
            for row in contacts
        ],
        batch_size=1000,
    )
    through = User.tags.through
    through.objects.bulk_create(
        [
            through(user_id=user.pk, tag_id=tag_id)
            for user, row in zip(users, contacts, strict=True)
            for tag_id in parse_tag_ids(row["contact_cat"])
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )

    load_before = load()
    with gunicorn(env) as base:
        workers = workers_start(env, args.workers, log_name="push-worker")
        try:
            time.sleep(2)  # the workers up
            # 1. The admin's edit, with the budget free: commit → the tag on the contact.
            edited = users[0]
            with transaction.atomic():
                user_tags_apply(user=edited, tags=[EDIT_TAG[1]])
            committed = time.monotonic()
            while EDIT_TAG[0] not in parse_tag_ids(control.get_contact(edited.contact_id)["contact_cat"]):
                if time.monotonic() - committed > 60:
                    break
                time.sleep(0.02)
            edit_applied_s = round(time.monotonic() - committed, 3)
            say(f"an admin's edit applied in {edit_applied_s} s")

            # 2. Every user gains a tag from code while a burst of webhooks arrives.
            stats_before = control.stats()
            calls = [("update_tags", rng.choice(ids)) for _ in range(args.webhooks)]
            answers: dict[int, int] = {}
            fired: list[float] = []

            def fire_all() -> None:
                answers.update(fire(base, calls))
                fired.append(time.time() - started)

            firing = threading.Thread(target=fire_all, daemon=True)
            started = time.time()
            firing.start()
            for user in users:
                with transaction.atomic():
                    user_tags_apply(user=user, tags=[PUSHED_TAG[1]])
            applied_s = time.time() - started
            firing.join()
            say(f"{len(users)} users tagged in {applied_s:.1f} s; webhooks answered {answers}")
            deadline = time.monotonic() + args.timeout
            waiting_changes = OutboxChange.objects.filter(status__in=["pending", "sending"])
            waiting_deliveries = Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES)
            while (waiting_changes.exists() or waiting_deliveries.exists()) and time.monotonic() < deadline:
                time.sleep(0.5)
            drain_s = round(time.time() - started, 1)
            say(f"drained in {drain_s} s; {load()}")
        finally:
            for worker in workers:
                stop(worker)

    stats = control.stats()
    by_endpoint, before = stats["by_endpoint"], stats_before["by_endpoint"]
    calls_made = sum(by_endpoint.get(e, 0) - before.get(e, 0) for e in OUTBOX_ENDPOINTS)
    pushed = OutboxChange.objects.filter(tags_added=[PUSHED_TAG[0]])
    delays = [
        (sent_at - created_at).total_seconds()
        for created_at, sent_at in pushed.filter(status="sent").values_list("created_at", "sent_at")
    ]
    webhook_delays = [
        (finished - received).total_seconds()
        for received, finished in Delivery.objects.filter(status=Delivery.Status.DONE).values_list(
            "received_at", "finished_at"
        )
    ]
    # Users per send (a send is one claim: rows sharing one sent_at), to see partial calls.
    sizes = Counter(
        size
        for size in pushed.filter(status="sent")
        .values("sent_at")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    untagged = sum(
        1
        for contact_id in ids
        if PUSHED_TAG[0] not in parse_tag_ids((control.get_contact(contact_id) or {}).get("contact_cat"))
    )
    accepted = answers.get(202, 0)
    report = {
        "users": args.users,
        "calls": calls_made,
        "floor": math.ceil(args.users / 50),
        "lost": pushed.exclude(status="sent").count()
        + max(args.users - pushed.count(), 0)
        + untagged
        + Delivery.objects.exclude(status=Delivery.Status.DONE).count()
        + max(accepted - Delivery.objects.count(), 0),
        "p95_commit_to_applied_s": p95(delays),
        "webhook_p95_s": p95(webhook_delays),
        "edit_applied_s": edit_applied_s,
        "database": args.database,
        "workers": args.workers,
        "window": args.window,
        "webhooks": len(calls),
        "webhooks_fired_s": round(fired[0], 1) if fired else None,
        "webhook_p50_s": round(statistics.median(webhook_delays), 3) if webhook_delays else None,
        "answers": answers,
        "contacts_calls": by_endpoint.get("GET /Contacts", 0) - before.get("GET /Contacts", 0),
        "rate_limited": stats["rate_limited"] - stats_before["rate_limited"],
        "changes_failed": pushed.filter(status="failed").count(),
        "sends_by_users": dict(sorted(sizes.items())),
        "tagging_s": round(applied_s, 1),
        "drain_s": drain_s,
        "calls_floor_s": math.floor((math.ceil(args.users / 50) - 1) / RATE) * args.window,
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
