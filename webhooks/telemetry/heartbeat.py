"""Worker heartbeats: each worker process says it is alive every FUSION_HEARTBEAT_SECONDS, busy or idle."""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from webhooks.telemetry.counters import counters_flush
from webhooks.telemetry.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def worker_heartbeat_beat(*, worker_id: str) -> None:
    """Record that this worker is alive now (one UPDATE; an INSERT the first time)."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now, stopped_at=None)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker_id=worker_id,
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=now,
            seen_at=now,
        )


def worker_heartbeat_stop(*, worker_id: str) -> None:
    """A clean stop: the worker is no longer counted as alive at once (not only after the stale time)."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now())


def worker_heartbeats_prune(*, older_than: datetime.timedelta = datetime.timedelta(days=7)) -> int:
    """Forget workers not seen for a week (each restart adds a row)."""
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - older_than).delete()
    return deleted


class HeartbeatThread(threading.Thread):
    """Beats in the background of a worker process, so a worker waiting on an empty queue (or stuck in a
    long batch) is still seen alive, and a dead process stops beating by itself. Also flushes the
    process's counters, so they reach /metrics even while the queue is idle."""

    def __init__(
        self, worker_id: str, interval: float | None = None, on_beat: Callable[[], object] | None = None
    ) -> None:
        super().__init__(name="fusion-heartbeat", daemon=True)
        self.worker_id = worker_id
        # Run with each beat, in this thread: the worker's claims renew their leases here
        # (webhooks.services.leases).
        self.on_beat = on_beat
        self.interval = interval if interval is not None else settings.FUSION_HEARTBEAT_SECONDS
        self._stopping = threading.Event()

    def run(self) -> None:
        missed = 0  # beats in a row the database refused: said once per outage, not once a beat
        # Inside the loop: a worker started while the database is down must still beat once it is back.
        pruned = False
        while True:
            try:
                close_old_connections()  # this thread's own connection: reconnects after a database restart
                if not pruned:
                    worker_heartbeats_prune()
                    pruned = True
                worker_heartbeat_beat(worker_id=self.worker_id)
                if missed:
                    logger.warning("heartbeat recorded again after %d missed beat(s)", missed)
                    missed = 0
                self._run_on_beat()
                counters_flush()
            except DatabaseError as error:
                missed += 1
                if missed == 1:
                    logger.warning(
                        "heartbeat not recorded (database unavailable: %s); it goes on beating",
                        type(error).__name__,
                    )
                # A connection that broke stays broken for this thread until it is closed.
                with suppress(DatabaseError):
                    connection.close()
            if self._stopping.wait(self.interval):
                break
        self._record_stop()

    def _record_stop(self) -> None:
        # Twice at most: the connection may have been cut since the last beat without this thread noticing
        # (a restarted database); a fresh one records the stop.
        try:
            for last_try in (False, True):
                try:
                    close_old_connections()
                    worker_heartbeat_stop(worker_id=self.worker_id)
                    counters_flush()
                    return
                except DatabaseError as error:
                    if last_try:
                        logger.warning("clean stop not recorded (database: %s)", type(error).__name__)
                    with suppress(DatabaseError):
                        connection.close()
        finally:
            connection.close()

    def _run_on_beat(self) -> None:
        # Whatever goes wrong in the beat's chores, the thread must go on beating: a worker that stops
        # beating is reported dead (and its claims' leases are no longer renewed).
        if self.on_beat is None:
            return
        try:
            self.on_beat()
        except DatabaseError:
            raise
        except Exception:
            logger.exception("heartbeat chore failed (the heartbeat goes on)")

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)
