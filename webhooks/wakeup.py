"""When to wake the worker: cheap on the request path, and never leaving a stored delivery unattended.

The Delivery table is the source of truth and the task (`webhooks.tasks.process_deliveries`) only a signal
to drain it, so one pending wake-up serves any number of deliveries. Enqueueing a task row per webhook
would halve the endpoint's throughput, so each web process enqueues at most one wake-up per
WAKE_INTERVAL. A delivery stored just after a drain finished and inside that interval is caught by the
drain's *tail*: every drain that did work schedules one more run TAIL_DELAY later (> WAKE_INTERVAL), which
sees every delivery committed meanwhile. Retries and expired leases (a worker killed mid-batch) get a
wake-up at their due time, scheduled before the work is done so a crash cannot lose it.

This module decides; `webhooks.tasks` (which owns the task) enqueues. The adoption app's task
(`webhooks.adoption.tasks.runs_continue`) is woken the same way, with the same two questions below.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.db.models import Q
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, task_backends

WAKE_INTERVAL = 0.5
TAIL_DELAY = datetime.timedelta(seconds=1.5)

_last_wake = 0.0


def wake_up_throttled() -> bool:
    """Has this process enqueued a wake-up within WAKE_INTERVAL? If not, it counts as enqueued now."""
    global _last_wake
    now = time.monotonic()
    if now - _last_wake < WAKE_INTERVAL:
        return True
    _last_wake = now
    return False


def can_wait() -> bool:
    """Can the task backend run a task later? An inline one (ImmediateBackend: tests, TASK_BACKEND=immediate)
    runs it at once and cannot."""
    return bool(task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer)


def wake_up_waiting(task: Task[..., Any], *, by: datetime.datetime) -> bool:
    """Is a run of `task` already waiting to start at or before `by`? Only the database backend can tell
    (another backend: False, so the caller enqueues)."""
    if type(task_backends[DEFAULT_TASK_BACKEND_ALIAS]).__module__.split(".")[0] != "django_tasks_db":
        return False
    from django_tasks_db.models import DBTaskResult, get_date_max

    # django-tasks-db stores "run as soon as possible" as the largest date.
    due = Q(run_after__lte=by) | Q(run_after=get_date_max())
    return DBTaskResult.objects.filter(due, status="READY", task_path=task.module_path).exists()
