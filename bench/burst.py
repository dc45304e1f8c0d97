"""Burst: M webhooks over N contacts at Ontraport's real rate limit, drained by W db_worker processes.

    python bench/burst.py --contacts 10000 --webhooks 20000 --workers 2 --window 60 [--json]

A sandbox (subprocess) holds N contacts and allows 180 API calls per --window seconds (60 is Ontraport's;
a shorter window scales time down: --window 6 is ten times faster with the same call arithmetic). The site
runs under gunicorn (2 sync workers, a fresh database) with W `manage.py db_worker` processes. M webhooks
are fired by `wrk` (one thread, 32 connections; 16 Python threads if wrk is missing): every contact gets
an `add` (in shuffled order, mixed with the rest), the other M-N webhooks are random update / update_tags
for random contacts. Then the script waits until every accepted delivery is finished and compares every
user with its contact.

Figures: api_calls (every API request the sandbox saw), api_call_floor = ceil(unique/50),
contacts_calls / tag_list_calls / return_password_calls apart, rate_limited (429s), lost (accepted
deliveries not done), wrong (users whose tags or names/e-mail differ from the contact), drain_s (first
webhook sent to last delivery finished), floor_s (the least time the limit allows for the calls the
burst needs: the first 180 go at once, then 180 per window), bytes_received_per_contact (GET /Contacts
answers' bytes over the unique contacts; every contact carries --custom-fields custom field values,
--mapped of them mapped) and one page's bytes per contact with the client's listFields against whole
records (listfields_over_whole).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ACCESS_KEY,
    CUSTOM_FIELDS,
    MAPPED,
    PYTHON,
    ROOT,
    bytes_figures,
    calls_timeline,
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
    workers_start,
)
from ontraport_client.sandbox import SandboxControl

RATE = 180
TAGS = {1: "Customer", 2: "Newsletter", 3: "VIP", 4: "Webinar", 5: "Trial"}


def contact_rows(ids: range, rng: random.Random, custom_fields: int = 0) -> list[dict[str, str]]:
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
                **custom_field_values(i, custom_fields),
            }
        )
    return rows


# wrk's script for the burst: init() loads the burst's paths from a file, request() walks them, then asks
# for the home page (200, harmless) until every webhook has been answered and response() stops the thread.
# Webhooks answer 202 (accepted) or 4xx/5xx, never 200, so a 200 is the home page and anything else is a
# webhook's answer. done() prints the per-status counts of the webhooks. wrk's main thread sleeps for the
# whole -d duration whatever its threads do, so the script also says ANSWERED and `fire` interrupts wrk
# (SIGINT, as Ctrl-C would), which makes it join the stopped thread and report at once.
LUA = r"""
local paths, next_path, answered, last_sent_at, finished, verified = {}, 1, 0, 0, false, false
counts = {}  -- a global: done() reads it from the thread with thread:get
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  -- wrk calls request() once after init() to check the script (thread 0's state); that request is
  -- never sent, so it must not use up a path.
  if not verified then
    verified = true
    return wrk.format("GET", "/")
  end
  local path = paths[next_path]
  if path == nil then return wrk.format("GET", "/") end
  next_path = next_path + 1
  last_sent_at = os.time()
  return wrk.format("GET", path)
end
local function finish()
  finished = true
  io.write("ANSWERED\n")
  io.flush()
  wrk.thread:stop()
end
function response(status, headers, body)
  if finished then return end
  if status ~= 200 then
    counts[status] = (counts[status] or 0) + 1
    answered = answered + 1
  end
  -- A webhook whose connection failed never gets an answer: once wrk has given up on the last one sent
  -- (its --timeout is 30 s), stop with them unanswered rather than wait for the whole -d duration.
  local given_up = next_path > #paths and os.time() - last_sent_at > 32
  if answered == #paths or given_up then finish() end
end
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      parts[#parts + 1] = string.format('"%d": %d', status, n)
    end
  end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"counts": {%s}, "requests": %d, "duration_us": %d, "p99_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    table.concat(parts, ", "), summary.requests, summary.duration, latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def webhook_path(action: str, contact_id: int) -> str:
    return f"/?wpf_action={action}&access_key={ACCESS_KEY}&contact_id={contact_id}"


def sandbox_seeded(
    window: float, ids: range, rng: random.Random, custom_fields: int = 0
) -> tuple[subprocess.Popen[bytes], SandboxControl, str, list[dict[str, str]]]:
    """A sandbox at the real limit (RATE calls per `window` s) holding a contact for each id: its process,
    its control, its origin and the contacts' rows."""
    port = free_port()
    sandbox = spawn(
        [PYTHON, "-m", "ontraport_client.sandbox", "--port", str(port), "--data", "empty",
         "--rate-limit", str(RATE), "--window", str(window), "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    control = SandboxControl(origin)
    control.wait_until_ready()
    contacts = contact_rows(ids, rng, custom_fields)
    for tag_id, name in TAGS.items():
        control.add_tag(name, tag_id)
    for start in range(0, len(contacts), 2000):
        control.add_contacts(contacts[start : start + 2000])
    return sandbox, control, origin, contacts


def sandbox_site_env(database_url: str, origin: str, window: float, **extra: str) -> dict[str, str]:
    """The site's environment against that sandbox."""
    return site_env(
        database_url,
        ONTRAPORT_API_URL=f"{origin}/1/",
        ONTRAPORT_APP_ID="sandbox-app",
        ONTRAPORT_API_KEY="sandbox-key",
        ONTRAPORT_RATE_WINDOW=str(window),  # the sandbox's window: the pacer's log must match it
        **extra,
    )


def burst_calls(ids: range, webhooks: int, rng: random.Random) -> list[tuple[str, int]]:
    """An `add` for every contact, the rest random update / update_tags, shuffled."""
    calls = [("add", i) for i in ids]
    calls += [(rng.choice(["update", "update_tags"]), rng.choice(ids)) for _ in range(webhooks - len(ids))]
    rng.shuffle(calls)
    return calls


def users_wrong(contacts: list[dict[str, str]], mapped: Sequence[str] = ()) -> int:
    """Users whose tags, names, e-mail or mapped profile values differ from their contact's (Django set
    up): the mapped values prove that listFields still brings every field the site uses."""
    from accounts.models import User

    by_id = {int(c["id"]): c for c in contacts}
    wrong = 0
    for user in User.objects.filter(contact_id__isnull=False).prefetch_related("tags"):
        contact = by_id[user.contact_id]
        tags = {int(t) for t in contact["contact_cat"].split("*/*") if t}
        if (
            {t.id for t in user.tags.all()} != tags
            or user.first_name != contact["firstname"]
            or user.last_name != contact["lastname"]
            or user.email != contact["email"]
            or any(user.profile.get(f"custom_{name}") != contact[name] for name in mapped)
        ):
            wrong += 1
    return wrong


def fire(base: str, calls: list[tuple[str, int]], connections: int = 32) -> dict[int, int]:
    """Send every (action, contact_id) as a GET webhook; returns a count per HTTP status (0: no answer).

    wrk (one thread, `connections` connections) when installed: the Python thread pool below capped
    firing at ~215 requests/s on 2 cores, so it measured the client rather than the site."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return fire_python(base, calls)
    with tempfile.TemporaryDirectory() as directory:
        paths, script = Path(directory) / "paths.txt", Path(directory) / "burst.lua"
        paths.write_text("".join(webhook_path(action, contact_id) + "\n" for action, contact_id in calls))
        script.write_text(LUA)
        command = [wrk, "-t1", f"-c{connections}", "-d3600s", "--timeout", "30s", "-s", str(script), base]
        process = subprocess.Popen([*command, "--", str(paths)], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        lines = []
        try:
            for line in process.stdout:
                lines.append(line)
                if line.strip() == "ANSWERED":
                    process.send_signal(signal.SIGINT)
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    line = next(line for line in lines if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    counts = {int(status): n for status, n in result["counts"].items()}
    unanswered = len(calls) - sum(counts.values())
    if unanswered:
        counts[0] = unanswered  # connection errors or timeouts: sent (perhaps) but never answered
    return counts


def fire_python(base: str, calls: list[tuple[str, int]], threads: int = 16) -> dict[int, int]:
    """The fallback without wrk: 16 client threads, a new connection per webhook."""
    host, port = base.removeprefix("http://").split(":")
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def send(call: tuple[str, int]) -> None:
        action, contact_id = call
        for attempt in range(3):
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request("GET", webhook_path(action, contact_id))
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
    parser.add_argument("--custom-fields", type=int, default=CUSTOM_FIELDS, help="custom fields per contact")
    parser.add_argument("--mapped", type=int, default=MAPPED, help="how many of them the site maps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    assert args.webhooks >= args.contacts, "every contact gets at least its add"
    rng = random.Random(args.seed)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    ids = range(200_000, 200_000 + args.contacts)
    sandbox, control, origin, contacts = sandbox_seeded(args.window, ids, rng, args.custom_fields)
    database_url = fresh_database(args.database, "bench_fusion_burst")
    env = sandbox_site_env(database_url, origin, args.window)
    manage(env, "migrate", "--noinput")
    mapped = fields_mapped(env, args.mapped)
    os.environ.update(env)
    import django

    django.setup()
    from django.db.models import Max, Min

    from accounts.models import User
    from webhooks.models import Delivery

    calls = burst_calls(ids, args.webhooks, rng)
    stats_before = control.stats()

    load_before = load()
    with gunicorn(env) as base:
        workers = workers_start(env, args.workers, log_name="burst-worker")
        try:
            say(f"firing {len(calls)} webhooks over {args.contacts} contacts; {load_before}")
            started = time.time()
            answers = fire(base, calls)
            fired_s = time.time() - started
            say(f"fired in {fired_s:.1f} s: {answers}")
            accepted = answers.get(202, 0)
            deadline = time.monotonic() + args.timeout
            unfinished = Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES)
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
    wrong = users_wrong(contacts, mapped)
    unique = len(set(ids))
    api_calls = stats["requests"] - stats_before["requests"]
    password_calls = calls_to("PUT /Contacts")
    tag_calls = sum(calls_to(e) for e in by_endpoint if "Tag" in e)
    floor_calls = math.ceil(unique / 50) + tag_calls + password_calls
    floor_s = math.floor((floor_calls - 1) / RATE) * args.window if floor_calls else 0.0
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
        # Accepted but not done: finished otherwise, still waiting, or (had a 202 been answered without its
        # row) never stored.
        "lost": Delivery.objects.exclude(status=Delivery.Status.DONE).count()
        + max(accepted - Delivery.objects.count(), 0),
        "failed": Delivery.objects.filter(status=Delivery.Status.FAILED).count(),
        "wrong": wrong,
        "users_created": User.objects.filter(contact_id__isnull=False).count(),
        "fired_s": round(fired_s, 1),
        "drain_s": round(drain_s, 1) if drain_s is not None else None,
        "floor_s": floor_s,
        "drain_target_s": round(1.2 * floor_s + 30, 1),
        **bytes_figures(
            origin=origin,
            received=stats["bytes_by_endpoint"].get("GET /Contacts", 0)
            - stats_before["bytes_by_endpoint"].get("GET /Contacts", 0),
            contacts=unique,
            path="Contacts",
            params={"ids": ",".join(str(i) for i in list(ids)[:50]), "range": 50},
            mapped=mapped,
        ),
        **calls_timeline(control.calls(), started=started, limit=RATE, window=args.window),
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
