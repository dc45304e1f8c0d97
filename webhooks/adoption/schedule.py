"""When the next sweep is due (no cron): FUSION_RESYNC_EVERY after the last one, kept as a queued Run.

This module decides; `webhooks.adoption.tasks` (which owns the task that works on runs) wakes the worker.
"""

import datetime

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from webhooks.adoption.models import Run
from webhooks.adoption.runs import sweep_create
from webhooks.wakeup import can_wait


def resync_every() -> datetime.timedelta | None:
    """FUSION_RESYNC_EVERY, or None when sweeps are off (0). The settings read and check it ("24h", "90m",
    "3600s", "3600", "0"): a malformed value stops the site when they load."""
    every: datetime.timedelta = settings.FUSION_RESYNC_EVERY
    return every if every > datetime.timedelta(0) else None


def sweep_ensure() -> Run | None:
    """Make sure the next sweep is queued, due FUSION_RESYNC_EVERY after the last one (the caller wakes the
    worker for it: webhooks.adoption.tasks.sweep_schedule).

    Safe to call from any number of processes: one open sweep at a time is a database constraint. With
    sweeps off, a sweep that has not started yet is withdrawn. Inline task backends cannot wait, so they
    never schedule one."""
    every = resync_every()
    waiting = Run.objects.open().filter(kind=Run.Kind.SWEEP)
    if every is None:
        waiting.filter(state=Run.State.QUEUED, started_at__isnull=True).delete()
        return None
    if not can_wait():
        return None
    last = Run.objects.filter(kind=Run.Kind.SWEEP, state=Run.State.DONE).aggregate(at=Max("finished_at"))[
        "at"
    ]
    due = (last or timezone.now()) + every
    sweep = waiting.first()
    if sweep is None:
        sweep = sweep_create(due_at=due) or waiting.first()
    elif sweep.state == Run.State.QUEUED and sweep.started_at is None and (sweep.due_at or due) > due:
        Run.objects.filter(pk=sweep.pk, started_at__isnull=True).update(due_at=due)  # the interval shrank
        sweep.due_at = due
    return sweep
