"""Storing webhooks as Delivery rows — the durable log everything else works from."""

import datetime
import functools
import ipaddress
from collections.abc import Mapping

from django.conf import settings
from django.db import connections, router
from django.db.models import Field
from django.db.models.sql import InsertQuery
from django.http import HttpRequest
from django.utils import timezone

from webhooks.masking import mask_text
from webhooks.models import Delivery
from webhooks.params import WebhookParams, clean_text, parse_flag

PATH_MAX = 2000


def request_source_ip(request: HttpRequest) -> str | None:
    """The address a request counts as (the wrong-key throttle, the stored source_ip): the peer's, unless
    the peer is a proxy in FUSION_TRUSTED_PROXIES; then the nearest X-Forwarded-For address that is not a
    trusted proxy (entries further left were written by the client and prove nothing)."""
    peer = request.META.get("REMOTE_ADDR") or None
    if not settings.FUSION_TRUSTED_PROXIES or not _trusted_proxy(peer):
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed(forwarded):
        if not _trusted_proxy(address):
            return address if _is_ip(address) else peer
    return peer


def _trusted_proxy(address: str | None) -> bool:
    if not address or not _is_ip(address):
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _proxy_networks(tuple(settings.FUSION_TRUSTED_PROXIES)))


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def _proxy_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def request_path_masked(request: HttpRequest) -> str:
    return clean_text(mask_text(request.get_full_path()), PATH_MAX)


def delivery_record(
    request: HttpRequest,
    params: WebhookParams,
    *,
    action: str,
    contact_id: int | None,
    test: bool = False,
    extra_options: Mapping[str, object] | None = None,
) -> int:
    """Store an accepted webhook: one INSERT, the least a receiver that loses nothing can do; returns the
    new delivery's id. `extra_options`: what else the sender said (a subscription event: its type and tag)."""
    options: dict[str, object] = dict(extra_options or {})
    # Masked like the path: a sender that put the key (or a password) in another parameter must not have
    # it stored either.
    if role := clean_text(mask_text(params.role or ""), 150):
        options["role"] = role
    if parse_flag(params.send_notification):
        options["send_notification"] = True
    if email := clean_text(mask_text(params.email or ""), 254):
        options["email"] = email
    now = timezone.now()
    return delivery_insert(
        {
            **_about_the_request(request, now),
            "action": action,
            "contact_id": contact_id,
            "options": options,
            "status": Delivery.Status.DONE if test else Delivery.Status.PENDING,
            "message": "test webhook: access key accepted" if test else "",
            "finished_at": now if test else None,
        }
    )


def delivery_insert(values: Mapping[str, object]) -> int:
    """INSERT one Delivery (`values` by field name, every other field its default); returns its id.

    The statement is Django's own (compiled from the model by its InsertQuery, so the model stays its one
    definition) but compiled once per database instead of once per webhook: on the request path the
    ORM's per-call compiling and model machinery cost more than the database's work for the row
    (docs/benchmarks.md, "Ingest"). Each value is still prepared by its field (get_db_prep_save)."""
    alias = router.db_for_write(Delivery)
    connection = connections[alias]
    if not connection.features.can_return_columns_from_insert:
        return int(Delivery.objects.using(alias).create(**values).pk)
    sql, fields = _insert_statement(alias)
    params = [
        field.get_db_prep_save(
            values[field.name] if field.name in values else field.get_default(), connection
        )
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    return int(pk)


@functools.cache
def _insert_statement(alias: str) -> tuple[str, tuple[Field, ...]]:
    """Django's INSERT for a Delivery on database `alias` (every concrete column, returning the id)."""
    fields = tuple(field for field in Delivery._meta.concrete_fields if not field.primary_key)
    query = InsertQuery(Delivery)
    query.insert_values(fields, [Delivery()])
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = [Delivery._meta.pk]
    sql, _params = compiler.as_sql()[0]
    return sql, fields


def delivery_reject(request: HttpRequest, *, reason: str, message: str, action: str) -> Delivery:
    """Record a malformed webhook (its key was valid) so the site owner sees it in the log."""
    now = timezone.now()
    return Delivery.objects.create(
        **_about_the_request(request, now),
        finished_at=now,
        action=action,
        status=Delivery.Status.REJECTED,
        reason=reason,
        message=message,
    )


def _about_the_request(request: HttpRequest, now: datetime.datetime) -> dict[str, object]:
    """What every stored webhook records of its request (the key masked)."""
    return {
        "received_at": now,
        "updated_at": now,
        "next_attempt_at": now,
        "method": request.method or "",
        "path": request_path_masked(request),
        "source_ip": request_source_ip(request),
    }
