"""The sweep's schedule: FUSION_RESYNC_EVERY, one open sweep, a wake-up in the task queue at its due time."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import RunFactory
from webhooks.adoption.models import Run
from webhooks.adoption.schedule import resync_every
from webhooks.adoption.tasks import runs_continue, sweep_schedule

pytestmark = pytest.mark.django_db


def _wake_ups() -> list[datetime.datetime]:
    return sorted(
        DBTaskResult.objects.filter(status="READY", task_path=runs_continue.module_path).values_list(
            "run_after", flat=True
        )
    )


def test_resync_every_is_the_setting_and_zero_is_off(settings):
    """The settings read the variable ("24h", "90m"...: tests/fusion_site); the schedule only reads them."""
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(minutes=90)
    assert resync_every() == datetime.timedelta(minutes=90)
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(0)
    assert resync_every() is None


def test_the_next_sweep_is_queued_once_with_its_wake_up(settings, database_tasks):
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=24)

    sweep = sweep_schedule()
    again = sweep_schedule()

    assert sweep is not None and again is not None and again.pk == sweep.pk
    assert Run.objects.count() == 1
    assert sweep.state == Run.State.QUEUED
    assert abs(sweep.due_at - (timezone.now() + datetime.timedelta(hours=24))) < datetime.timedelta(minutes=1)
    assert _wake_ups() == [sweep.due_at]


def test_the_next_sweep_is_due_an_interval_after_the_last_and_moves_when_it_shrinks(settings, database_tasks):
    finished = timezone.now() - datetime.timedelta(hours=3)
    RunFactory(sweep=True, state="done", finished_at=finished)
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=24)
    assert sweep_schedule().due_at == finished + datetime.timedelta(hours=24)

    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=1)
    sweep = sweep_schedule()

    assert sweep.due_at == finished + datetime.timedelta(hours=1)
    assert Run.objects.open().count() == 1


def test_sweeps_off_withdraw_the_queued_one(settings, database_tasks):
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=24)
    sweep_schedule()
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(0)

    assert sweep_schedule() is None
    assert not Run.objects.exists()


def test_an_inline_task_backend_schedules_no_sweep(settings):
    # The tests' own backend runs tasks inline: it cannot wait a day.
    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=24)

    assert sweep_schedule() is None
    assert not Run.objects.exists()


def test_a_run_held_by_another_worker_is_taken_over_when_its_lease_runs_out(bulk_sandbox, database_tasks):
    from webhooks.adoption.tasks import runs_continue

    expiry = timezone.now() + datetime.timedelta(minutes=5)
    run = RunFactory(  # an import of tag 1, "Members"
        started_from="admin",
        state="running",
        lease_owner="another-host:4242:deadbeef",
        lease_expires_at=expiry,
    )

    assert runs_continue.call() == "nothing to do"
    assert _wake_ups() == [expiry]  # it looks again when the lease runs out

    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert runs_continue.call() == f"run #{run.pk}: done"

    run.refresh_from_db()
    assert (run.state, run.created, run.lease_owner) == ("done", 7, "")


def test_migrate_queues_the_first_sweep(settings, database_tasks):
    from django.core.management import call_command

    settings.FUSION_RESYNC_EVERY = datetime.timedelta(hours=24)

    call_command("migrate", verbosity=0)

    sweep = Run.objects.get()
    assert (sweep.kind, sweep.state, sweep.started_from) == ("sweep", "queued", "schedule")
    assert _wake_ups() == [sweep.due_at]
