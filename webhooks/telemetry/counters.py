"""Counters shared by every process of the site, kept cheap on the hot path.

A process adds to its counters in memory (`counter_add`, a dict update under a lock) and writes them out
with one upsert per distinct counter (`counters_flush`): a worker after each batch, a web process at most
every FLUSH_SECONDS (on a request that crosses the interval), and every process at exit. So a webhook
costs no extra write, and any node's /metrics reads the totals of every machine from one small table.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Mapping

from django.db import DatabaseError, connections, router, transaction

from webhooks.telemetry.models import Counter

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0

_pending: dict[tuple[str, str], float] = {}
_lock = threading.Lock()
_last_flush = time.monotonic()


def labels_text(labels: Mapping[str, object]) -> str:
    """The stored form of a label set: "a=1,b=x", sorted by name (label values never hold , or =)."""
    return ",".join(f"{name}={labels[name]}" for name in sorted(labels))


def labels_parse(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",")) if text else {}


def counter_add(name: str, labels: Mapping[str, object] | None = None, amount: float = 1.0) -> None:
    """Count `amount` more of `name` in this process; written out at the next flush."""
    key = (name, labels_text(labels or {}))
    with _lock:
        _pending[key] = _pending.get(key, 0.0) + amount


def counters_flush(*, quiet: bool = False) -> int:
    """Write this process's counts to the shared table; returns how many counters were written. On a
    database error the counts are kept for the next flush."""
    global _last_flush
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not batch:
        return 0
    alias = router.db_for_write(Counter)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(Counter._meta.db_table)
    # The same statement on PostgreSQL and SQLite (3.24+): insert, or add to the existing row atomically.
    sql = (
        f"INSERT INTO {table} ({quote('name')}, {quote('labels')}, {quote('value')}) "  # noqa: S608
        f"VALUES (%s, %s, %s) ON CONFLICT ({quote('name')}, {quote('labels')}) "
        f"DO UPDATE SET {quote('value')} = {table}.{quote('value')} + excluded.{quote('value')}"
    )
    # Sorted, so two processes flushing the same counters lock their rows in the same order (no deadlock).
    rows: list[tuple[str, str, float]] = [
        (name, labels, amount) for (name, labels), amount in sorted(batch.items())
    ]
    try:
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    except DatabaseError:
        if not quiet:
            logger.warning("counters not written (kept for the next flush)", exc_info=True)
        with _lock:
            for key, amount in batch.items():
                _pending[key] = _pending.get(key, 0.0) + amount
        return 0
    return len(rows)


def counters_flush_if_due() -> None:
    """Flush when FLUSH_SECONDS have passed since the last flush (called on the web's request path)."""
    if time.monotonic() - _last_flush >= FLUSH_SECONDS:
        counters_flush()


def counters_read() -> list[tuple[str, dict[str, str], float]]:
    """Every shared counter: (name, labels, value). The table holds one row per counter and label set
    (tens of rows), however many webhooks were counted."""
    return [
        (name, labels_parse(labels), value)
        for name, labels, value in Counter.objects.order_by("name", "labels").values_list(
            "name", "labels", "value"
        )
    ]


def _flush_at_exit() -> None:
    # The interpreter is going away (logging may be shut already): a count that cannot be written now is
    # lost quietly rather than raising or printing a traceback at exit.
    with contextlib.suppress(Exception):
        counters_flush(quiet=True)


atexit.register(_flush_at_exit)
