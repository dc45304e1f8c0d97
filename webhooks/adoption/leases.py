"""Who works on a run: a lease on the run row, taken by compare-and-set, renewed with every page.

The holder is a process id (webhooks.telemetry.process_id: `host:pid:random`). A lease whose holder is gone
is free at once when the holder ran on this machine (its pid no longer exists: a Ctrl-C'd or SIGKILLed
command), else when it runs out (FUSION_LEASE_SECONDS).
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from webhooks.adoption.models import Run
from webhooks.reporting import bulk_run_ended
from webhooks.telemetry.process_id import process_gone


def lease_duration() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS)


def lease_free(run: Run, now: datetime.datetime) -> bool:
    if not run.lease_owner:
        return True
    expired = run.lease_expires_at is None or run.lease_expires_at <= now
    return expired or process_gone(run.lease_owner)


def run_claim(*, run_id: int, owner: str) -> Run | None:
    """Take the run's lease if it is free (compare-and-set on the lease seen); None when someone holds it."""
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.open().filter(pk=run_id).first()
        if run is None or (run.due_at is not None and run.due_at > now) or not lease_free(run, now):
            return None
        seen = Q(lease_owner=run.lease_owner) & (
            Q(lease_expires_at=run.lease_expires_at)
            if run.lease_expires_at is not None
            else Q(lease_expires_at__isnull=True)
        )
        taken = (
            Run.objects.filter(seen, pk=run.pk)
            .open()
            .update(
                lease_owner=owner,
                lease_expires_at=now + lease_duration(),
                state=Run.State.RUNNING,
                message="",
                started_at=Coalesce("started_at", now),
                updated_at=now,
            )
        )
    if not taken:
        return None
    run.refresh_from_db()
    return run


def run_release(*, run: Run, owner: str, state: str | None = None, message: str = "") -> None:
    """Give the lease back (the run stays open unless `state` says otherwise)."""
    now = timezone.now()
    changes: dict[str, object] = {"lease_owner": "", "lease_expires_at": None, "updated_at": now}
    if state is not None:
        changes["state"] = state
        run.state = state
    if message:
        changes["message"] = message[:2000]
        run.message = message
    if state in (Run.State.DONE, Run.State.FAILED):
        changes["finished_at"] = now
        run.finished_at = now
    released = Run.objects.filter(pk=run.pk, lease_owner=owner).update(**changes)
    run.lease_owner, run.lease_expires_at = "", None
    if released and state in (Run.State.DONE, Run.State.FAILED, Run.State.INTERRUPTED):
        # /metrics: bulk runs by how they ended (flushed with the process's other counts).
        bulk_run_ended(kind=run.kind, outcome=state)
