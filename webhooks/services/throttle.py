"""Addresses that keep sending wrong access keys are answered 429 for a while.

Only the wrong-key path counts: a request with the right key never touches the counter. The count is
shared by every process, so FUSION_BAD_KEY_LIMIT holds whatever the number of gunicorn workers and
machines: in the cache when CACHE_URL names a shared one (redis://...), otherwise in the database (one
row per address, `WrongKeyWindow`, written with one upsert). A per-process cache (the default locmem)
would let each worker count on its own: with 2 workers about 2 x the limit passed before the first 429.

The address is the request's source address (webhooks.source_address.request_source_ip: REMOTE_ADDR, or
the client address a proxy in FUSION_TRUSTED_PROXIES reports).
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections, router

from accounts.ontraport_budget import cache_is_shared
from webhooks.models import WrongKeyWindow

logger = logging.getLogger(__name__)


def bad_key_seen(source_ip: str | None) -> bool:
    """Count a wrong key from `source_ip`; True once it is over FUSION_BAD_KEY_LIMIT in the window. When
    the count cannot be kept (the database unreachable) the key is refused unthrottled (403), not a 500."""
    source = source_ip or "unknown"
    try:
        count = _count_in_cache(source) if cache_is_shared() else _count_in_database(source)
    except DatabaseError:
        logger.warning("wrong key from %s not counted: database unavailable", source)
        return False
    return count > settings.FUSION_BAD_KEY_LIMIT


def wrong_keys_forget() -> None:
    """Forget the counts kept in the database (a shared cache's entries run out with their window)."""
    WrongKeyWindow.objects.all().delete()


def _count_in_cache(source: str) -> int:
    key = f"fusion:bad-key:{source}"
    window = settings.FUSION_BAD_KEY_WINDOW_SECONDS
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def _count_in_database(source: str) -> int:
    """One statement, atomic on SQLite and PostgreSQL: start the address's window, or count one more in it
    (a window older than FUSION_BAD_KEY_WINDOW_SECONDS starts again at 1)."""
    now = time.time()
    expired = now - settings.FUSION_BAD_KEY_WINDOW_SECONDS
    alias = router.db_for_write(WrongKeyWindow)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(WrongKeyWindow._meta.db_table)
    started, count = quote("started_at"), quote("count")
    sql = (
        f"INSERT INTO {table} ({quote('source')}, {started}, {count}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({quote('source')}) DO UPDATE SET "
        f"{count} = CASE WHEN {table}.{started} < %s THEN 1 ELSE {table}.{count} + 1 END, "
        f"{started} = CASE WHEN {table}.{started} < %s THEN excluded.{started} ELSE {table}.{started} END "
        f"RETURNING {count}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [source[:64], now, expired, expired])
        (value,) = cursor.fetchone()
    if value == 1:
        # A window began: drop the other addresses' finished windows (rare: once per address per window).
        WrongKeyWindow.objects.using(alias).filter(started_at__lt=expired).delete()
    return int(value)
