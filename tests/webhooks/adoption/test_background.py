"""Runs that outlive a process: a killed import continues, the sweep runs once across two workers, and
bulk work leaves the end of Ontraport's budget to webhooks."""

import datetime
import json
import math
import os
import signal
import sys
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from accounts.models import User
from tests.support.factories import RunFactory
from tests.support.processes import site_env
from tests.support.waiting import wait_until
from webhooks.adoption.models import Run
from webhooks.adoption.runs import sweep_create
from webhooks.adoption.tasks import runs_continue
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def slow_import_started(bulk_sandbox, processes):
    """`manage.py ontraport_import --tag Members` in a child process, each page answering slowly so that a
    signal sent after the first pages lands while pages are left (not after the last one).

    Ctrl-C as a person at a terminal sends it: a process started from a background job (CI, `cmd &`)
    inherits an ignored SIGINT, which Python then never turns into KeyboardInterrupt, so the command is
    started with SIGINT's default handling restored."""
    bulk_sandbox.fault(delay_ms=1500, count=40, endpoint="GET /objects/tag")
    interruptible = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv = ['manage.py', 'ontraport_import', '--tag', 'Members']; "
        "runpy.run_path('manage.py', run_name='__main__')"
    )
    return processes.start("import", [sys.executable, "-c", interruptible], site_env(bulk_sandbox))


def test_an_import_killed_mid_run_continues_where_it_stopped(bulk_sandbox, tagged_contacts, processes):
    tagged_contacts(300)  # with the demo's 7 members: 307 contacts, 7 pages
    command = slow_import_started(bulk_sandbox, processes)
    wait_until(
        lambda: Run.objects.filter(processed__gte=100).exists() or command.poll() is not None,
        timeout=60,
        what=lambda: f"two pages to be recorded\n{processes.logs()}",
    )
    os.killpg(command.pid, signal.SIGKILL)
    command.wait(timeout=10)
    killed = Run.objects.get()
    assert killed.state == Run.State.RUNNING and 100 <= killed.processed < 307, processes.logs()
    bulk_sandbox.clear_faults()

    out = StringIO()
    call_command("ontraport_import", "--tag", "Members", "--json", stdout=out)

    summary = json.loads(out.getvalue())
    run = Run.objects.get()  # the same run, continued
    assert (summary["run"], run.state, run.processed, run.created) == (killed.pk, "done", 307, 307)
    assert User.objects.count() == 307
    assert max(Counter(User.objects.values_list("contact_id", flat=True)).values()) == 1


def test_two_workers_run_the_sweep_once_and_it_schedules_the_next(
    bulk_sandbox, tagged_contacts, processes, settings
):
    tagged_contacts(120)
    call_command("ontraport_import", "--tag", "Members", "--json", stdout=StringIO())  # 127 linked users
    sweep = sweep_create(due_at=timezone.now())
    assert sweep is not None
    assert sweep_create(due_at=timezone.now()) is None  # one open sweep at a time
    backend = DatabaseBackend("default", {})
    backend.enqueue(runs_continue, (), {})
    backend.enqueue(runs_continue, (), {})
    before = bulk_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0)
    env = site_env(bulk_sandbox, FUSION_RESYNC_EVERY="24h")

    for name in ("worker-a", "worker-b"):
        processes.worker(env, name=name)
    wait_until(
        lambda: Run.objects.filter(pk=sweep.pk, state=Run.State.DONE).exists(),
        timeout=60,
        what=lambda: f"the sweep to finish\n{processes.logs()}",
    )

    sweep.refresh_from_db()
    assert (sweep.processed, sweep.unchanged, sweep.calls) == (127, 127, math.ceil(127 / 50))
    # Each contact fetched once: the two workers never worked on the sweep at the same time.
    assert bulk_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) - before == math.ceil(127 / 50)
    assert not Delivery.objects.filter(run=sweep).exists()  # nothing changed: nothing logged
    following = wait_until(lambda: Run.objects.open().filter(kind=Run.Kind.SWEEP).first(), timeout=10)
    assert following.state == Run.State.QUEUED
    assert following.due_at > timezone.now() + datetime.timedelta(hours=23)
    # A wake-up waits no later than the due time (an earlier one, with nothing to do, schedules the next).
    waiting = DBTaskResult.objects.filter(status="READY", task_path=runs_continue.module_path)
    as_soon_as_possible = get_date_max()  # how django-tasks-db stores a task enqueued with no run_after
    assert waiting.filter(Q(run_after__lte=following.due_at) | Q(run_after=as_soon_as_possible)).exists()


def test_bulk_work_stops_at_the_reserve_and_webhooks_still_get_through(
    bulk_sandbox, tagged_contacts, database_tasks, webhook
):
    # 62 calls a minute: the count and one page leave 60, the reserve; the webhook worker may go on.
    bulk_sandbox.reset(rate_limit=62)
    tagged_contacts(300)
    run = RunFactory(started_from="admin")  # an import of tag 1, "Members"

    runs_continue.call()

    run.refresh_from_db()
    assert (run.state, run.processed, run.lease_owner) == ("running", 50, "")
    # It comes back when the window frees up (besides the safety net at the end of its lease).
    waiting = DBTaskResult.objects.filter(status="READY", task_path=runs_continue.module_path)
    now = timezone.now()
    assert waiting.filter(
        run_after__gt=now + datetime.timedelta(seconds=30), run_after__lt=now + datetime.timedelta(seconds=70)
    ).exists()
    assert webhook("add", 12).status_code == 202
    process_deliveries.call()
    delivered = Delivery.objects.get(source="webhook")
    assert (delivered.status, delivered.contact_id) == ("done", 12)
    assert User.objects.filter(contact_id=12).exists()


def test_ctrl_c_leaves_the_run_interrupted_and_the_same_command_continues(
    bulk_sandbox, tagged_contacts, processes
):
    tagged_contacts(150)  # 157 contacts, 4 pages
    command = slow_import_started(bulk_sandbox, processes)
    wait_until(
        lambda: Run.objects.filter(processed__gte=50).exists() or command.poll() is not None,
        timeout=60,
        what=lambda: f"a page to be recorded\n{processes.logs()}",
    )
    os.kill(command.pid, signal.SIGINT)
    assert command.wait(timeout=30) != 0, processes.logs()
    stopped = Run.objects.get()
    assert stopped.state == Run.State.INTERRUPTED, processes.logs()
    assert "run the same command again" in processes.logs()
    bulk_sandbox.clear_faults()

    call_command("ontraport_import", "--tag", "Members", "--json", stdout=StringIO())

    run = Run.objects.get()
    assert (run.pk, run.state, run.processed, run.created) == (stopped.pk, "done", 157, 157)
    assert User.objects.count() == 157
