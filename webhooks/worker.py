"""The worker's loop, kept alive through database outages.

django-tasks-db's `Worker.run` ignores only a locked database while it claims a task; any other
OperationalError (PostgreSQL restarting, a connection cut or refused, a failover's read-only primary)
escapes its loop and ends the process, and webhooks already answered 202 then wait for someone to restart
it. Nothing is lost meanwhile (the Delivery rows are the truth and leases run out), so the right answer to
such an error is to wait, reconnect and carry on: `ResilientWorker` does that with a jittered exponential
backoff and says so in the log, once per outage and once when the database answers again.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import suppress
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from webhooks.services.leases import deliveries_claims_release_held
from webhooks.tasks import wake_worker_at
from webhooks.telemetry.health import database_ping
from webhooks.telemetry.process_id import process_id_prefix

logger = logging.getLogger(__name__)

# The first retry comes quickly (a blip), later ones at most every BACKOFF_MAX_SECONDS (a long outage),
# so a database that comes back is used again within that time.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
# The loop has worked this long since the last failure: the next failure is a new outage (first wait again).
STEADY_SECONDS = 60.0

# SQLSTATEs that mean "this server cannot take the work now", whatever class the driver files them under:
# 25006 a read-only transaction (a primary demoted during a failover, a standby), 57P01-57P03 shutting
# down / not accepting connections yet, 08xxx connection exceptions.
_TRANSIENT_SQLSTATES = ("25006", "57P01", "57P02", "57P03")


def database_error_is_transient(error: BaseException) -> bool:
    """Is this database error one that heals by itself (an outage), rather than a bug in a query?

    OperationalError is the driver's "the server or the connection failed" (and SQLite's "database is
    locked"); InterfaceError is a connection already closed. Integrity, data and programming errors are
    never transient: retrying them would only repeat them."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    if not isinstance(error, DatabaseError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None) or ""
    return sqlstate.startswith("08") or sqlstate in _TRANSIENT_SQLSTATES


def backoff_seconds(*, failures: int) -> float:
    """The wait after the `failures`-th failure in a row: doubling from the first, capped, ±20 % jitter so
    the workers of a cluster do not reconnect in step."""
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** max(0, failures - 1))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


def database_connections_reset() -> None:
    """Drop this thread's connections after a failure, so the next query opens a fresh one. A connection
    that broke inside a transaction cannot even roll back; closing it is all that is left."""
    for connection in connections.all(initialized_only=True):
        with suppress(DatabaseError):
            connection.close()


class ResilientWorker(Worker):
    """db_worker's loop, restarted after a transient database error instead of ending the process.

    A signal (SIGTERM, Ctrl-C) still stops it at once, also while it waits: the inherited handler exits
    when no task is running, and no task runs while it waits.

    After each task, and after an outage, the claims this process still holds are let go: this loop runs
    one drain at a time, so a claim held between drains is a dead drain's (see
    webhooks.services.leases.deliveries_claims_release_held)."""

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            # A database error here (still down) goes to run() below like any other: it waits, and lets
            # go of the claims as the first thing once the database takes writes again.
            self._claims_let_go()

    def _claims_let_go(self) -> None:
        if deliveries_claims_release_held(holder_prefix=process_id_prefix()):
            logger.warning("a drain ended with deliveries still claimed: let go of them for the next one")
            wake_worker_at(timezone.now())

    def run(self) -> None:
        failures = 0  # in a row, within one outage
        outage_started = 0.0
        waited_until = 0.0  # when the last wait ended: the loop has been working since
        announced = False  # "works again" is said once per outage
        while self.running:
            try:
                if failures and not announced:
                    # Is it back? A read, then a write: a locked or read-only database answers the first.
                    database_ping()
                    self._claims_let_go()
                    announced = True
                    logger.warning(
                        "database works again after %.1f s: the worker carries on",
                        time.monotonic() - outage_started,
                    )
                    self.startup_delay = False  # the herd's spread was done at the first start
                super().run()
                return
            except DatabaseError as error:
                if not database_error_is_transient(error) or not self.running:
                    raise
                now = time.monotonic()
                # A database that connects but still refuses the work (a read-only primary) is the same
                # outage, with a growing wait, until the loop has worked for STEADY_SECONDS.
                if failures and now - waited_until >= STEADY_SECONDS:
                    failures = 0
                if not failures:
                    outage_started, announced = now, False
                failures += 1
                delay = backoff_seconds(failures=failures)
                # One warning per outage with the reason; the retries of a long one stay at INFO.
                logger.log(
                    logging.WARNING if failures == 1 else logging.INFO,
                    "database unavailable (%s: %s): the worker waits %.1f s and reconnects (try %d)",
                    type(error).__name__,
                    str(error).strip().splitlines()[0] if str(error).strip() else "no detail",
                    delay,
                    failures,
                )
                database_connections_reset()
                time.sleep(delay)
                waited_until = time.monotonic()
