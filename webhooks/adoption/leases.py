"""Who works on a run: a lease on the run row, taken by compare-and-set, renewed with every page.

A lease whose holder is gone is free at once when the holder ran on this machine (its process id no
longer exists: a Ctrl-C'd or SIGKILLed command), else when it runs out (FUSION_LEASE_SECONDS).
"""

import datetime
import os
import socket
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from webhooks.adoption.models import Run
from webhooks.reporting import bulk_run_ended

HOST = socket.gethostname()


def lease_owner_new() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_duration() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS)


def _holder_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False  # another machine: only the lease's expiry tells
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_free(run: Run, now: datetime.datetime) -> bool:
    if not run.lease_owner:
        return True
    expired = run.lease_expires_at is None or run.lease_expires_at <= now
    return expired or _holder_gone(run.lease_owner)


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
