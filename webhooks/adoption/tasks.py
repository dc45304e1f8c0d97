"""The background task: continue open runs (admin-started imports and resyncs, the sweep) in slices, and
how it is woken.

The Run table is the source of truth and the task only a signal to work on it, as for deliveries: one
waiting task row serves every run, however often a wake-up is asked for (webhooks.wakeup).

Thin: the work is in adoption.runs and adoption.pages. It runs at a low priority and hands the worker back
every RUN_SLICE_SECONDS, so webhook drains queued meanwhile go first; it never sleeps on Ontraport's
budget in the worker, it comes back when the budget allows.
"""

import datetime

from django.db.models import Min, Q
from django.tasks import task
from django.utils import timezone

from accounts.ontraport import ontraport_bulk_client
from ontraport_client import OntraportError
from webhooks.adoption.budget import bulk_wait_seconds
from webhooks.adoption.leases import lease_duration, lease_free, run_claim, run_release
from webhooks.adoption.models import Run
from webhooks.adoption.pages import LeaseLost, RunShort
from webhooks.adoption.runs import run_count_total, run_work
from webhooks.adoption.schedule import sweep_ensure
from webhooks.telemetry.process_id import process_id_new
from webhooks.wakeup import can_wait, wake_up_waiting

RUN_SLICE_SECONDS = 2.0
# After an Ontraport error a background run waits this long before its next try.
ERROR_PAUSE = datetime.timedelta(seconds=60)
# Runs the worker continues: commands continue their own (with their progress bar).
BACKGROUND = ("admin", "schedule")


def _next_run() -> Run | None:
    now = timezone.now()
    candidates = (
        Run.objects.open()
        .filter(started_from__in=BACKGROUND)
        .filter(Q(due_at__isnull=True) | Q(due_at__lte=now))
        .order_by("id")
    )
    return next((run for run in candidates if lease_free(run, now)), None)


def _wake_for_next_due() -> None:
    """Nothing to do now, but a background run may need us later: the next sweep at its due time, a run
    held by a worker at its lease's expiry (if that worker dies, this wake-up takes the run over)."""
    now = timezone.now()
    waiting = (
        Run.objects.open()
        .filter(started_from__in=BACKGROUND)
        .aggregate(
            due=Min("due_at", filter=Q(due_at__gt=now)),
            lease=Min("lease_expires_at", filter=Q(lease_expires_at__isnull=False)),
        )
    )
    times = [when for when in (waiting["due"], waiting["lease"]) if when is not None]
    if times:
        runs_wake_at(max(min(times), now))


@task(priority=-10)
def runs_continue() -> str:
    candidate = _next_run()
    if candidate is None:
        _wake_for_next_due()
        return "nothing to do"
    owner = process_id_new()
    run = run_claim(run_id=candidate.pk, owner=owner)
    if run is None:
        return f"run #{candidate.pk} taken by another worker"
    if can_wait():
        # Scheduled before the work: if this worker dies mid-slice, the run is taken over at lease expiry.
        runs_wake_at(timezone.now() + lease_duration() + datetime.timedelta(seconds=1))
    client = ontraport_bulk_client()
    deadline = timezone.now() + datetime.timedelta(seconds=RUN_SLICE_SECONDS)
    waits: list[float] = []

    def stop() -> bool:
        if not can_wait():
            return False  # an inline backend cannot come back later: finish here
        waits.append(bulk_wait_seconds(client))
        return waits[-1] > 0 or timezone.now() >= deadline

    try:
        if run.total is None:
            run_count_total(run=run, client=client)
        finished = run_work(run=run, client=client, owner=owner, stop=stop)
    except OntraportError as error:
        run_release(run=run, owner=owner, message=f"Ontraport error: {error}; trying again shortly")
        runs_wake_at(timezone.now() + ERROR_PAUSE)
        return f"run #{run.pk}: Ontraport error"
    except LeaseLost:
        return f"run #{run.pk}: taken over"
    except RunShort as short:
        run_release(run=run, owner=owner, state=Run.State.FAILED, message=str(short))
        if _next_run() is not None:
            runs_wake_at()
        return f"run #{run.pk}: failed"
    if not finished:
        run_release(run=run, owner=owner)
        pause = waits[-1] if waits else 0.0
        runs_wake_at(timezone.now() + datetime.timedelta(seconds=pause))
        return f"run #{run.pk}: {run.processed} so far"
    run_release(run=run, owner=owner, state=Run.State.DONE)
    if run.kind == Run.Kind.SWEEP:
        sweep_schedule()
    if _next_run() is not None:
        runs_wake_at()
    return f"run #{run.pk}: done"


def runs_wake_at(when: datetime.datetime | None = None) -> None:
    """Make sure `runs_continue` runs no later than `when` (default: now)."""
    when = when or timezone.now()
    if not can_wait():
        if when <= timezone.now():
            runs_continue.enqueue()  # an inline backend runs it right here; it cannot wait for later
        return
    if wake_up_waiting(runs_continue, by=when):
        return
    runs_continue.using(run_after=max(when, timezone.now())).enqueue()


def sweep_schedule() -> Run | None:
    """Make sure the next sweep is queued (webhooks.adoption.schedule) and the worker woken for it."""
    sweep = sweep_ensure()
    if sweep is not None:
        runs_wake_at(sweep.due_at or timezone.now())
    return sweep
