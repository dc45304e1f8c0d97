"""Read-only questions about the site's worker processes (for /readyz, `manage.py check`, the admin)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from webhooks.telemetry.models import WorkerHeartbeat


@dataclass(frozen=True)
class WorkersHealth:
    alive: int  # workers seen within FUSION_WORKER_STALE_SECONDS and not stopped
    last_seen_at: datetime.datetime | None  # the newest heartbeat of any worker, alive or not
    stale_seconds: int

    @property
    def ok(self) -> bool:
        return self.alive > 0

    @property
    def problem(self) -> str:
        """Why there is no live worker, in words for the site owner ("" when there is one)."""
        if self.ok:
            return ""
        if self.last_seen_at is None:
            return (
                "No worker has ever run: webhooks are stored but never applied. Start one with "
                "`python manage.py fusion_worker` (see docs/deployment.md)."
            )
        ago = int((timezone.now() - self.last_seen_at).total_seconds())
        return (
            f"No worker is running: the last heartbeat was {ago} s ago (more than "
            f"FUSION_WORKER_STALE_SECONDS={self.stale_seconds}). Webhooks pile up until one is started "
            "(`python manage.py fusion_worker`)."
        )


def workers_health() -> WorkersHealth:
    """Two index lookups on the heartbeat table (one row per worker process), never a scan of the queue."""
    stale = settings.FUSION_WORKER_STALE_SECONDS
    since = timezone.now() - datetime.timedelta(seconds=stale)
    beats = WorkerHeartbeat.objects.all()
    alive = beats.filter(seen_at__gte=since, stopped_at__isnull=True).count()
    last = beats.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return WorkersHealth(alive=alive, last_seen_at=last, stale_seconds=stale)


def workers_alive() -> int:
    """How many workers beat within FUSION_WORKER_STALE_SECONDS (0: nothing applies webhooks)."""
    return workers_health().alive
