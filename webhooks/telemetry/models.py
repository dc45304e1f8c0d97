"""What the processes of a site tell each other about themselves: worker heartbeats and shared counters.

The bottom of the app stack (it imports none of the site's apps), so accounts and webhooks can both write
here and any node's /metrics or /readyz can read what every process on every machine reported.
"""

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """One row per worker process, touched every FUSION_HEARTBEAT_SECONDS while it runs (idle or busy)."""

    worker_id = models.CharField(max_length=128, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    # Indexed: "is any worker alive?" is one index lookup of the newest beat.
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when the worker stops cleanly; a worker killed (SIGKILL, power loss) simply stops beating.
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.worker_id} (seen {self.seen_at:%Y-%m-%d %H:%M:%S})"


class Counter(models.Model):
    """A monotonically growing number (a Prometheus counter, or one bucket of a histogram), shared by every
    process: each adds what it counted since its last flush with one upsert, never a COUNT over a table."""

    name = models.CharField(max_length=100)
    # Labels in one canonical text form: "action=add,answer=202" (sorted by name).
    labels = models.CharField(max_length=255, blank=True)
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="telemetry_counter_key")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} = {self.value:g}"
