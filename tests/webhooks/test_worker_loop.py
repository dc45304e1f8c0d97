"""Which database errors the worker waits out (webhooks.worker), and how long it waits. The worker itself
is put through real outages in tests/reliability/test_worker_outage.py."""

from __future__ import annotations

import pytest
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)

from webhooks.worker import (
    BACKOFF_FIRST_SECONDS,
    BACKOFF_MAX_SECONDS,
    backoff_seconds,
    database_error_is_transient,
)


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(error_class: type[DatabaseError], sqlstate: str | None = None) -> DatabaseError:
    """As Django raises it: its own class, the driver's error (with its SQLSTATE) as the cause."""
    error = error_class("boom")
    if sqlstate is not None:
        error.__cause__ = DriverError(sqlstate)
    return error


@pytest.mark.parametrize(
    "error",
    [
        wrapped(OperationalError),  # refused, reset, terminated; SQLite's "database is locked"
        wrapped(InterfaceError),  # connection already closed
        wrapped(InternalError, "25006"),  # read-only transaction: a demoted primary
        wrapped(InternalError, "57P03"),  # cannot connect now (starting up)
        wrapped(DatabaseError, "08006"),  # connection failure
    ],
)
def test_outages_are_waited_out(error):
    assert database_error_is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(IntegrityError, "23505"),
        wrapped(DataError, "22001"),
        wrapped(ProgrammingError, "42P01"),
        wrapped(InternalError, "XX000"),
        wrapped(InternalError),
        ValueError("not a database error"),
    ],
)
def test_bugs_are_not_retried(error):
    assert not database_error_is_transient(error)


def test_the_wait_doubles_to_a_ceiling_with_jitter():
    first = [backoff_seconds(failures=1) for _ in range(200)]
    assert min(first) >= BACKOFF_FIRST_SECONDS * 0.8 and max(first) <= BACKOFF_FIRST_SECONDS * 1.2
    assert len(set(first)) > 1  # jittered: a cluster's workers do not reconnect in step
    assert 0.8 <= backoff_seconds(failures=2) / (2 * BACKOFF_FIRST_SECONDS) <= 1.2
    assert all(backoff_seconds(failures=n) <= BACKOFF_MAX_SECONDS * 1.2 for n in range(1, 80))
    assert backoff_seconds(failures=50) >= BACKOFF_MAX_SECONDS * 0.8
