"""When runs continue and when the next sweep is due, through the task backend (no cron).

The Run table is the source of truth and the task (`adoption.tasks.runs_continue`) only a signal to work on
it, as for deliveries: one waiting task row serves every run, however often a wake-up is asked for.
"""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max, Q
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone

from accounts.models import Run
from webhooks.adoption.runs import sweep_create

TASK_PATH = "webhooks.adoption.tasks.runs_continue"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def resync_every() -> datetime.timedelta | None:
    """FUSION_RESYNC_EVERY ("24h", "90m", "3600s", "3600", "0") as a timedelta; None when sweeps are off."""
    text = str(settings.FUSION_RESYNC_EVERY).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", text)
    if match is None:
        raise ImproperlyConfigured(
            f"FUSION_RESYNC_EVERY={settings.FUSION_RESYNC_EVERY!r}: "
            "give a duration such as 24h, 90m or 0 (off)."
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return datetime.timedelta(seconds=seconds) if seconds > 0 else None


def can_wait() -> bool:
    return bool(task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer)


def runs_wake_at(when: datetime.datetime | None = None) -> None:
    """Make sure `runs_continue` runs no later than `when` (default: now)."""
    from webhooks.adoption.tasks import runs_continue

    when = when or timezone.now()
    if not can_wait():
        if when <= timezone.now():
            runs_continue.enqueue()  # an inline backend runs it right here; it cannot wait for later
        return
    if _wake_up_due_by(when):
        return
    runs_continue.using(run_after=max(when, timezone.now())).enqueue()


def _wake_up_due_by(when: datetime.datetime) -> bool:
    if type(task_backends[DEFAULT_TASK_BACKEND_ALIAS]).__module__.split(".")[0] != "django_tasks_db":
        return False
    from django_tasks_db.models import DBTaskResult, get_date_max

    due = Q(run_after__lte=when) | Q(run_after=get_date_max())
    return DBTaskResult.objects.filter(due, status="READY", task_path=TASK_PATH).exists()


def sweep_schedule() -> Run | None:
    """Make sure the next sweep is queued (FUSION_RESYNC_EVERY after the last one) and will be woken for.

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
    if sweep is not None:
        runs_wake_at(sweep.due_at or timezone.now())
    return sweep
