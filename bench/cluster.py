"""Cluster: 2 web nodes and 3 workers on PostgreSQL + Redis, a burst, a worker killed and a node restarted.

    python bench/cluster.py --contacts 10000 --webhooks 20000 --window 60 [--probe-rows 1000000] [--json]

What it runs (every process its own, stopped at the end however the bench ends):
- the Ontraport sandbox with N contacts and the real limit, 180 calls per --window seconds;
- a Redis of its own (redis-server on a free port; `make bench-deps` installs it): CACHE_URL for every
  process, so the workers pace one Ontraport budget;
- 2 gunicorn web nodes on separate ports and 3 `manage.py fusion_worker`s, on a fresh PostgreSQL database.

The burst: every contact gets an `add`, the other M-N webhooks are random update / update_tags, shuffled,
fired by one `wrk` per node (one thread, 32 connections each; Python threads without wrk), each node
taking every other webhook. Midway through firing, web node 1 is restarted the way a deploy restarts
gunicorn without refusing a connection: USR2 starts a new master (fresh code) on the same socket, then
the old master is stopped with SIGTERM (its workers finish what they hold). Once a tenth of the
deliveries are applied, a worker that holds a claim is killed with SIGKILL (its deliveries come back
when the lease, --lease seconds here, 30 by default, runs out; a live worker renews its own).

Figures: accepted (202 answers), applied_once (deliveries done; each delivery row is one accepted webhook
and is recorded by the one claim that still holds it), lost (accepted, not done), wrong (users whose tags
or names differ from the contact),
duplicates (contacts with more than one user), calls_over_floor = contact fetches / ceil(unique/50),
rate_limited (429s), drain_s (first webhook sent -> last delivery applied), bound_s = fired_s + floor_s,
drain_over_bound. With --probe-rows, that many finished deliveries are then added and /metrics and
/readyz are timed (median and worst of 20 requests each).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.burst import RATE, burst_calls, fire, sandbox_seeded, sandbox_site_env, users_wrong
from bench.common import (
    GUNICORN,
    PYTHON,
    ROOT,
    bench_dir,
    calls_timeline,
    free_port,
    fresh_database,
    load,
    machine,
    manage,
    spawn,
    stop,
    wait_http,
)


class WebNode:
    """One gunicorn (2 sync workers) on its own port."""

    def __init__(self, env: dict[str, str], n: int) -> None:
        self.env, self.n, self.port = env, n, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pidfile = bench_dir() / f"cluster-web-{n}.pid"
        self.master_pid: int | None = None
        atexit.register(self.stop)  # a restarted master is not our child: stop it however the bench ends

    def start(self) -> None:
        self.pidfile.unlink(missing_ok=True)
        log = (bench_dir() / f"cluster-web-{self.n}.log").open("ab")
        process = spawn(
            [*GUNICORN, "fusion_site.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--backlog", "2048", "--log-level", "warning", "--pid", str(self.pidfile)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.master_pid = process.pid
        wait_http(f"{self.base}/healthz")

    def restart(self) -> None:
        """A full restart without refusing a connection, as a deploy does it with gunicorn: USR2 starts a
        new master (new code) on the same listening socket, then the old master is stopped gracefully
        (TERM: its workers finish the requests they hold)."""
        assert self.master_pid is not None
        old = self.master_pid
        os.kill(old, signal.SIGUSR2)
        # While the old master lives, the new one writes its pid to "<pidfile>.2".
        new_pidfile = self.pidfile.with_name(self.pidfile.name + ".2")
        deadline = time.monotonic() + 60
        while True:
            text = new_pidfile.read_text().strip() if new_pidfile.exists() else ""
            if text.isdigit() and int(text) != old:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the new gunicorn master did not start")
            time.sleep(0.05)
        self.master_pid = int(text)
        wait_http(f"{self.base}/healthz")
        time.sleep(1.0)  # the new master's workers are booted and accepting
        os.kill(old, signal.SIGTERM)
        _wait_gone(old)

    def stop(self) -> None:
        if self.master_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.master_pid, signal.SIGTERM)
            _wait_gone(self.master_pid)
            self.master_pid = None


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
            if finished:
                return
        except ChildProcessError:  # not our child (a re-executed master): poll for it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def redis_start() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = spawn(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            import redis

            redis.Redis(port=port).ping()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def timed_get(url: str, runs: int = 20) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def timed_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def probe_rows_add(rows: int) -> float:
    """Add `rows` finished deliveries in one INSERT ... SELECT (PostgreSQL), as a long-lived site has."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO webhooks_delivery (received_at, action, contact_id, options, method, path, status,
                reason, message, attempts, next_attempt_at, claimed_by, updated_at, finished_at, source)
            SELECT now() - interval '1 day', 'update', 900000 + g %% 50000, '{}', 'GET', '/', 'done',
                '', 'old', 1, now() - interval '1 day', 'old', now(), now() - interval '1 day', 'webhook'
            FROM generate_series(1, %s) AS g
            """,
            [rows],
        )
        cursor.execute("ANALYZE webhooks_delivery")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--webhooks", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--window", type=float, default=60.0, help="rate-limit window (180 calls per it)")
    # Short: fusion_worker renews its claims' leases every heartbeat (10 s), so a worker waiting for the
    # rate limit keeps them, and a killed worker's claims come back after 30 s.
    parser.add_argument("--lease", type=int, default=30, help="FUSION_LEASE_SECONDS for the workers")
    parser.add_argument("--probe-rows", type=int, default=0, help="then time /metrics, /readyz with these")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up waiting after this long")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--database-name",
        help="the PostgreSQL database to create (must not exist; dropped at the end). "
        "Default: bench_fusion_cluster_<pid>_<random>, this run's own",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    assert args.webhooks >= args.contacts, "every contact gets at least its add"
    assert args.workers >= 2, "one worker is killed: at least one more must remain"
    rng = random.Random(args.seed)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))

    redis_process, cache_url = redis_start()
    ids = range(300_000, 300_000 + args.contacts)
    sandbox, control, origin, contacts = sandbox_seeded(args.window, ids, rng)
    database_url = fresh_database(
        "postgres", args.database_name or "bench_fusion_cluster", exact=args.database_name is not None
    )
    env = sandbox_site_env(
        database_url, origin, args.window, CACHE_URL=cache_url, FUSION_LEASE_SECONDS=str(args.lease)
    )
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()
    from django.db.models import Count, Max

    from accounts.models import User
    from webhooks.models import Delivery

    calls = burst_calls(ids, args.webhooks, rng)
    stats_before = control.stats()
    load_before = load()

    nodes = [WebNode(env, n) for n in range(2)]
    for node in nodes:
        node.start()
    workers = []
    for n in range(args.workers):
        log = (bench_dir() / f"cluster-worker-{n}.log").open("wb")
        workers.append(
            spawn(
                [
                    PYTHON,
                    "manage.py",
                    "fusion_worker",
                    "--interval",
                    "0.2",
                    "--no-startup-delay",
                    "--no-reload",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    events: dict[str, float] = {}

    def restart_node_midway() -> None:
        while (Delivery.objects.aggregate(n=Max("id"))["n"] or 0) < len(calls) // 2:
            time.sleep(0.05)
        events["web_node_restart_at_s"] = round(time.time() - started, 1)
        nodes[1].restart()
        events["web_node_restarted_at_s"] = round(time.time() - started, 1)

    def kill_worker_mid_drain() -> None:
        done = Delivery.objects.filter(status=Delivery.Status.DONE)
        while done.count() < len(calls) // 10:
            time.sleep(0.2)
        # Kill a worker that holds a claim (claimed_by is "host:pid:random"), so its deliveries must come
        # back through the lease; if none holds one within 10 s, kill worker 1 anyway.
        pids = {str(worker.pid): worker for worker in workers}
        victim, deadline = workers[1], time.monotonic() + 10
        while time.monotonic() < deadline:
            holders = Delivery.objects.filter(status=Delivery.Status.PROCESSING).values_list(
                "claimed_by", flat=True
            )
            held = [
                pids[pid] for pid in (c.split(":")[1] for c in holders if c.count(":") == 2) if pid in pids
            ]
            if held:
                victim = held[0]
                break
            time.sleep(0.02)
        events["claims_held_by_killed_worker"] = Delivery.objects.filter(
            status=Delivery.Status.PROCESSING, claimed_by__contains=f":{victim.pid}:"
        ).count()
        victim.send_signal(signal.SIGKILL)
        events["worker_killed_at_s"] = round(time.time() - started, 1)

    say(f"firing {len(calls)} webhooks over {args.contacts} contacts: 2 nodes, {args.workers} workers")
    started = time.time()
    restarter = threading.Thread(target=restart_node_midway, daemon=True)
    killer = threading.Thread(target=kill_worker_mid_drain, daemon=True)
    restarter.start()
    killer.start()
    # One wrk per node, each with every other webhook: the load spread across both.
    per_node: list[dict[int, int]] = [{}, {}]

    def fire_at(n: int) -> None:
        per_node[n] = fire(nodes[n].base, calls[n :: len(nodes)])

    firers = [threading.Thread(target=fire_at, args=(n,)) for n in range(len(nodes))]
    for firer in firers:
        firer.start()
    for firer in firers:
        firer.join()
    answers: dict[int, int] = {}
    for counts in per_node:
        for status, count in counts.items():
            answers[status] = answers.get(status, 0) + count
    fired_s = time.time() - started
    say(f"fired in {fired_s:.1f} s: {answers}; per node {per_node}")
    restarter.join()
    deadline = time.monotonic() + args.timeout
    unfinished = Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES)
    while unfinished.exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    drained = not unfinished.exists()
    if not drained:
        stuck_report(started)
    killer.join()  # at a small size the drain may end before the kill: the kill still happens
    say(f"drained; {load()}")

    stats = control.stats()
    before = stats_before["by_endpoint"]

    def calls_to(endpoint: str) -> int:
        return stats["by_endpoint"].get(endpoint, 0) - before.get(endpoint, 0)

    last_applied = Delivery.objects.aggregate(last=Max("finished_at"))["last"]
    drain_s = last_applied.timestamp() - started if last_applied else None
    accepted = answers.get(202, 0)
    stored = Delivery.objects.count()
    done = Delivery.objects.filter(status=Delivery.Status.DONE).count()
    wrong = users_wrong(contacts)
    duplicates = (
        User.objects.filter(contact_id__isnull=False)
        .values("contact_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    unique = len(set(ids))
    floor_calls = math.ceil(unique / 50)
    contact_calls = calls_to("GET /Contacts")
    api_calls = stats["requests"] - stats_before["requests"]
    # The least time the limit allows for the calls the burst needs: the first 180 at once, then 180 a window.
    floor_s = math.floor((floor_calls - 1) / RATE) * args.window
    bound_s = fired_s + floor_s
    report: dict[str, object] = {
        "web_nodes": 2,
        "workers": args.workers,
        "window": args.window,
        "webhooks": len(calls),
        "answers": answers,
        "accepted": accepted,
        "accepted_per_node": [counts.get(202, 0) for counts in per_node],
        "stored": stored,
        "applied_once": done,
        # Accepted but not done: finished otherwise or still waiting, or (had a 202 been answered without
        # its row) never stored.
        "lost": (stored - done) + max(accepted - stored, 0),
        "wrong": wrong,
        "duplicates": duplicates,
        "users": User.objects.filter(contact_id__isnull=False).count(),
        "unique_contacts": unique,
        "api_calls": api_calls,
        "contacts_calls": contact_calls,
        "api_call_floor": floor_calls,
        "calls_over_floor": round(contact_calls / floor_calls, 3),
        "calls_target": math.floor(1.05 * floor_calls + 2),
        "rate_limited": stats["rate_limited"] - stats_before["rate_limited"],
        "reclaimed_after_kill": Delivery.objects.filter(attempts__gt=1).count(),
        **events,
        "fired_s": round(fired_s, 1),
        "floor_s": floor_s,
        "drain_s": round(drain_s, 1) if drain_s is not None else None,
        "bound_s": round(bound_s, 1),
        "drain_over_bound": round(drain_s / bound_s, 3) if drain_s else None,
        **calls_timeline(control.calls(), started=started, limit=RATE, window=args.window),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
    }
    if args.probe_rows:
        say(f"adding {args.probe_rows} finished deliveries, then timing /metrics and /readyz")
        report["probe_rows_insert_s"] = round(probe_rows_add(args.probe_rows), 1)
        report["deliveries_stored"] = Delivery.objects.aggregate(n=Max("id"))["n"]
        report["metrics_ms"] = timed_get(f"{nodes[0].base}/metrics")
        report["readyz_ms"] = timed_get_readyz(f"{nodes[0].base}/readyz")
    for worker in workers:
        stop(worker)
    for node in nodes:
        node.stop()
    stop(sandbox)
    stop(redis_process)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"  {key}: {value}")
    if not drained:
        sys.exit(f"the drain did not finish within --timeout {args.timeout:g} s (what was left: above)")


def stuck_report(started: float) -> None:
    """What was left when the drain timed out, on stderr: the unfinished deliveries, the wake-up tasks, the
    workers' heartbeats and the end of each worker's log, so a run that hangs explains itself."""
    from django.db.models import Count, Max, Min
    from django_tasks_db.models import DBTaskResult

    from webhooks.models import Delivery
    from webhooks.telemetry.models import WorkerHeartbeat

    def say(*parts: object) -> None:
        print(*parts, file=sys.stderr, flush=True)

    say(f"## drain timed out {time.time() - started:.0f} s after the first webhook; now {time.time():.1f}")
    unfinished = Delivery.objects.filter(status__in=Delivery.WAITING_STATUSES)
    for row in unfinished.values("status", "reason", "claimed_by").annotate(
        n=Count("id"), attempts=Max("attempts"), due=Min("next_attempt_at"), lease=Min("lease_expires_at")
    ):
        say("unfinished:", row)
    for row in DBTaskResult.objects.values("status", "task_path").annotate(
        n=Count("id"), first=Min("run_after"), last=Max("run_after")
    ):
        say("tasks:", row)
    for beat in WorkerHeartbeat.objects.values("worker_id", "seen_at", "stopped_at"):
        say("heartbeat:", beat)
    for log in sorted(bench_dir().glob("cluster-*.log")):
        say(f"-- {log.name} (end)")
        say(log.read_text(errors="replace")[-1500:])


def timed_get_readyz(url: str, runs: int = 20) -> dict[str, object]:
    """/readyz answers 200 or 503; both are timed (its cost is the same)."""
    times, statuses = [], set()
    for _ in range(runs):
        started = time.perf_counter()
        statuses.add(timed_status(url))
        times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "statuses": sorted(statuses),
    }


if __name__ == "__main__":
    main()
