"""When to wake the worker: cheap on the request path, and never leaving a stored delivery unattended.

The Delivery table is the source of truth and the task (`webhooks.tasks.process_deliveries`) only a signal
to drain it, so one pending wake-up serves any number of deliveries. Enqueueing a task row per webhook
would halve the endpoint's throughput, so each web process enqueues at most one wake-up per
WAKE_INTERVAL. A delivery stored just after a drain finished and inside that interval is caught by the
drain's *tail*: every drain that did work schedules one more run TAIL_DELAY later (> WAKE_INTERVAL), which
sees every delivery committed meanwhile. Retries and expired leases (a worker killed mid-batch) get a
wake-up at their due time, scheduled before the work is done so a crash cannot lose it.

This module decides; `webhooks.tasks` (which owns the task) enqueues.
"""

import datetime
import time

from django.db.models import Q
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

WAKE_INTERVAL = 0.5
TAIL_DELAY = datetime.timedelta(seconds=1.5)
TASK_PATH = "webhooks.tasks.process_deliveries"

_last_wake = 0.0


def wake_up_throttled() -> bool:
    """Has this process enqueued a wake-up within WAKE_INTERVAL? If not, it counts as enqueued now."""
    global _last_wake
    now = time.monotonic()
    if now - _last_wake < WAKE_INTERVAL:
        return True
    _last_wake = now
    return False


def wake_up_due_by(when: datetime.datetime) -> bool:
    """Is a wake-up already waiting to run at or before `when`? Only the database backend can tell."""
    if type(task_backends[DEFAULT_TASK_BACKEND_ALIAS]).__module__.split(".")[0] != "django_tasks_db":
        return False  # another backend: enqueue unconditionally
    from django_tasks_db.models import DBTaskResult, get_date_max

    # django-tasks-db stores "run as soon as possible" as the largest date.
    due = Q(run_after__lte=when) | Q(run_after=get_date_max())
    return DBTaskResult.objects.filter(due, status="READY", task_path=TASK_PATH).exists()
