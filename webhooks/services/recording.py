"""Writing the deliveries log, the durable record everything else works from: an accepted webhook (one
INSERT on the request path), a refused one whose key was valid, who sent a test webhook from the Ontraport
page, and what a run (import, resync, sweep) did with its contacts."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field
from django.db.models.sql import InsertQuery
from django.http import HttpRequest
from django.utils import timezone

from accounts.history import history_record
from accounts.models import User
from webhooks.masking import mask_text, request_path_masked
from webhooks.models import Delivery
from webhooks.params import WebhookParams, clean_text, parse_flag
from webhooks.source_address import request_source_ip

MESSAGE_MAX = 2000


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
def _insert_statement(alias: str) -> tuple[str, tuple[Field[Any, Any], ...]]:
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


@transaction.atomic
def delivery_sender_record(*, delivery_id: int, action: str, actor: User | None) -> bool:
    """Who sent a test webhook from the Ontraport page: on the delivery row and in its admin history. The
    id is the one the site's own answer named; the row is marked only if it is still unmarked and carries
    this action (a check, not trust). True when it was marked."""
    sent = Delivery.objects.filter(pk=delivery_id, action=action, started_by__isnull=True)
    if not sent.update(started_by=actor):
        return False
    history_record(
        actor=actor,
        objects=Delivery.objects.filter(pk=delivery_id),
        message=f'Sent with "Send a test webhook" ({action})',
    )
    return True


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


@dataclass(frozen=True)
class RunContactLogged:
    """What a run did with one contact, as its row in the log says it."""

    contact_id: int
    user_id: int | None
    failed: bool  # else done
    reason: str  # why it failed (a FailureReason); not stored when done
    message: str  # the outcome, in words
    role: str = ""  # the role the run gives its users ("" none)


@transaction.atomic(savepoint=False)
def deliveries_log_run(*, run_id: int, source: str, action: str, contacts: Iterable[RunContactLogged]) -> int:
    """Log what a run did with `contacts`: one finished delivery a contact (done or failed: a worker never
    claims it), pointing at the run and named after it (`import run #12`). `source` is the run's kind (a
    Delivery.Source), `action` what it applied (a SyncAction). Returns how many rows were written."""
    now = timezone.now()
    path = f"{Delivery.Source(source).label.lower()} run #{run_id}"
    rows = [
        Delivery(
            source=source,
            run_id=run_id,
            received_at=now,
            action=action,
            contact_id=contact.contact_id,
            options={"role": contact.role} if contact.role else {},
            method="",
            path=path,
            status=Delivery.Status.FAILED if contact.failed else Delivery.Status.DONE,
            reason=contact.reason if contact.failed else "",
            message=contact.message[:MESSAGE_MAX],
            attempts=1,
            next_attempt_at=now,
            user_id=contact.user_id,
            updated_at=now,
            finished_at=now,
        )
        for contact in contacts
    ]
    Delivery.objects.bulk_create(rows)
    return len(rows)
