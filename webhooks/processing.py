"""One worker pass: claim ready deliveries, fetch their contacts 50 at a time, apply, record outcomes."""

import datetime
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import Max, Min, Q
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone

from accounts.models import FieldMapping
from accounts.ontraport import ontraport_client
from accounts.services.fields import field_mappings_enabled
from accounts.services.roles import role_memo_clear
from accounts.services.sync import SyncRefused, user_sync_from_contact
from accounts.services.sync_batch import UsersPrefetched, users_batch_write, users_prefetch
from accounts.services.tags import tags_ensure_known
from ontraport_client import AuthenticationError, Contact, OntraportError, RateLimitedError
from webhooks.merging import merge_deliveries
from webhooks.models import Delivery

logger = logging.getLogger(__name__)

CONTACTS_PER_CALL = 50


@dataclass
class BatchReport:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    retrying: int = 0
    lease_expires_at: datetime.datetime | None = None
    outcomes: list[Delivery] = field(default_factory=list)


def deliveries_claim(*, worker_id: str, limit: int | None = None) -> list[Delivery]:
    rate = arrival_rate()
    if burst_in_progress(rate):
        return []
    return Delivery.objects.claim(
        worker_id=worker_id,
        limit=limit or settings.FUSION_BATCH_SIZE,
        lease=datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS),
        chunk=CONTACTS_PER_CALL,
        coalesce=coalesce_window() if _fills_a_group(rate) else datetime.timedelta(0),
    )


def coalesce_window() -> datetime.timedelta:
    """How long a partial group of contacts may wait to fill up. Zero with an inline task backend, which
    cannot wake itself later."""
    if not _can_wait():
        return datetime.timedelta(0)
    return datetime.timedelta(seconds=settings.FUSION_COALESCE_SECONDS)


def _fills_a_group(rate: float | None) -> bool:
    """Waiting for a partial group only pays when webhooks arrive fast enough to fill it in the coalesce
    window; a lone webhook is fetched at once."""
    return rate is not None and rate * settings.FUSION_COALESCE_SECONDS >= CONTACTS_PER_CALL


def _can_wait() -> bool:
    return bool(task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer)


# The arrival rate is measured over the last few seconds, from the growth of the largest delivery id (an
# index lookup) as this process saw it: a burst is recognised however fast workers take what arrives.
BURST_SAMPLE_SECONDS = 2.0
# The shortest span a rate is taken from: short, so a burst is held from its first moments (every call
# spent then is spent again on the same contacts' later webhooks).
BURST_MIN_SPAN_SECONDS = 0.25
_id_samples: deque[tuple[float, int]] = deque()
_clock = time.monotonic  # replaced in tests


def arrival_rate() -> float | None:
    """Webhooks stored per second lately, as this process saw it; None when it cannot tell yet (or when
    neither coalescing nor the burst hold needs it)."""
    if not _can_wait() or (settings.FUSION_BURST_RATE <= 0 and settings.FUSION_COALESCE_SECONDS <= 0):
        return None
    now = _clock()
    newest_id = Delivery.objects.aggregate(newest=Max("id"))["newest"] or 0
    _id_samples.append((now, newest_id))
    while len(_id_samples) > 2 and _id_samples[1][0] <= now - BURST_SAMPLE_SECONDS:
        _id_samples.popleft()
    since, first_id = _id_samples[0]
    if not first_id or now - since < BURST_MIN_SPAN_SECONDS:
        return None  # no span yet (or the table was empty: its first rows are not a burst)
    return (newest_id - first_id) / (now - since)


def burst_in_progress(rate: float | None) -> bool:
    """Are webhooks arriving faster than Ontraport's budget can fetch their contacts (FUSION_BURST_RATE)?

    Then fetching now spends calls on contacts whose next webhook is already on its way. Holding new
    deliveries until the flood slows (at most FUSION_BURST_MAX_HOLD_SECONDS) merges those repeats into one
    fetch each: a burst converges with the fewest calls, and so the soonest.
    """
    if rate is None or settings.FUSION_BURST_RATE <= 0 or rate < settings.FUSION_BURST_RATE:
        return False
    oldest = Delivery.objects.filter(status=Delivery.Status.PENDING, attempts=0).aggregate(
        first=Min("next_attempt_at")
    )["first"]
    max_hold = datetime.timedelta(seconds=settings.FUSION_BURST_MAX_HOLD_SECONDS)
    return oldest is not None and oldest > timezone.now() - max_hold


def deliveries_process(*, deliveries: Sequence[Delivery], worker_id: str) -> BatchReport:
    """Apply claimed deliveries: one contact fetch per 50 contacts, one sync per contact."""
    report = BatchReport(claimed=len(deliveries))
    by_contact: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_contact[delivery.contact_id or 0].append(delivery)
    mappings = field_mappings_enabled()
    role_memo_clear()  # settings and groups are read afresh for every batch
    contact_ids = list(by_contact)
    for start in range(0, len(contact_ids), CONTACTS_PER_CALL):
        chunk = contact_ids[start : start + CONTACTS_PER_CALL]
        _process_chunk(chunk, by_contact, mappings, report)
    _record_outcomes(report.outcomes, worker_id)
    return report


def _process_chunk(
    chunk: list[int],
    by_contact: dict[int, list[Delivery]],
    mappings: Sequence[FieldMapping],
    report: BatchReport,
) -> None:
    client = ontraport_client()
    try:
        contacts = client.get_contacts(chunk)
    except OntraportError as error:
        for contact_id in chunk:
            _retry_later(by_contact[contact_id], _describe(error), report, **_retry_kind(error))
        return
    try:
        tags_ensure_known(tag_ids=_all_tag_ids(contacts.values()), client=client)
    except OntraportError as error:
        # Tag names are cosmetic: the tags are applied by id now and named at the next refresh.
        logger.warning("tag list refresh failed: %s", error)
    # One transaction for the chunk: a commit (an fsync on PostgreSQL) per 50 contacts instead of one per
    # contact. Each contact still syncs in its own savepoint, so one contact's failure undoes only its work;
    # the tag and group rows of the contacts that succeeded are written together at the end.
    chunk_report = BatchReport()
    try:
        with transaction.atomic():
            prefetched = users_prefetch(contacts=list(contacts.values()), mappings=mappings)
            for contact_id in chunk:
                group = by_contact[contact_id]
                contact = contacts.get(contact_id)
                if contact is None:
                    message = f"Ontraport has no contact {contact_id}"
                    _finish(group, Delivery.Status.FAILED, "not_found", message, chunk_report)
                    continue
                _apply(contact, group, mappings, chunk_report, prefetched)
            users_batch_write(prefetched=prefetched)
    except DatabaseError as error:
        # The chunk's commit (or its prefetch, or its batched writes) failed: none of its work stands, so all
        # of it is retried.
        logger.exception("contacts %s..%s: database error while syncing", chunk[0], chunk[-1])
        for contact_id in chunk:
            for delivery in by_contact[contact_id]:
                delivery.user_id, delivery.finished_at = None, None
            _retry_later(
                by_contact[contact_id], f"database error: {type(error).__name__}", report, count_attempt=True
            )
        return
    report.outcomes += chunk_report.outcomes
    report.done += chunk_report.done
    report.failed += chunk_report.failed
    report.retrying += chunk_report.retrying


def _apply(
    contact: Contact,
    group: list[Delivery],
    mappings: Sequence[FieldMapping],
    report: BatchReport,
    prefetched: UsersPrefetched,
) -> None:
    merged = merge_deliveries(group)
    try:
        result = user_sync_from_contact(
            contact=contact,
            action=merged.action,
            role=merged.role,
            send_notification=merged.send_notification,
            mappings=mappings,
            prefetched=prefetched,
        )
    except SyncRefused as refused:
        _finish(group, Delivery.Status.FAILED, refused.code, refused.message, report)
    except OntraportError as error:
        _retry_later(group, _describe(error), report, **_retry_kind(error))
    except Exception as error:
        # An unexpected error must not take the rest of the batch down: log it, retry this contact later.
        logger.exception("contact %s: unexpected error while syncing", contact.id)
        _retry_later(group, f"unexpected error: {type(error).__name__}", report, count_attempt=True)
    else:
        user_id = result.user.pk if result.user else None
        _finish(
            group,
            Delivery.Status.DONE,
            "" if result.user else "no_matching_user",
            result.message,
            report,
            user_id,
        )


def _finish(
    group: Iterable[Delivery],
    status: str,
    reason: str,
    message: str,
    report: BatchReport,
    user_id: int | None = None,
) -> None:
    now = timezone.now()
    for delivery in group:
        delivery.status, delivery.reason, delivery.message = status, reason, message[:2000]
        delivery.user_id = user_id
        delivery.finished_at = now
        delivery.lease_expires_at = None
        report.outcomes.append(delivery)
        if status == Delivery.Status.DONE:
            report.done += 1
        else:
            report.failed += 1


def _retry_later(
    group: Iterable[Delivery],
    message: str,
    report: BatchReport,
    *,
    count_attempt: bool,
    reason: str = "retrying",
) -> None:
    """Transient trouble: try again after an exponential, jittered delay, or fail past FUSION_MAX_ATTEMPTS."""
    now = timezone.now()
    for delivery in group:
        if not count_attempt:
            delivery.attempts -= 1  # rate limiting never uses up a delivery's attempts
        if delivery.attempts >= settings.FUSION_MAX_ATTEMPTS:
            _finish(
                [delivery],
                Delivery.Status.FAILED,
                "gave_up" if reason == "retrying" else reason,
                f"gave up after {delivery.attempts} attempts: {message}",
                report,
            )
            continue
        delivery.status = Delivery.Status.PENDING
        delivery.reason = reason
        delivery.message = f"attempt {delivery.attempts} failed: {message}; retrying"
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.lease_expires_at = None
        report.outcomes.append(delivery)
        report.retrying += 1


def retry_delay(attempts: int) -> datetime.timedelta:
    base = settings.FUSION_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, settings.FUSION_RETRY_MAX_SECONDS) * random.uniform(0.75, 1.25)  # noqa: S311 - jitter
    return datetime.timedelta(seconds=seconds)


OUTCOME_FIELDS = (
    "status",
    "reason",
    "message",
    "user",
    "finished_at",
    "lease_expires_at",
    "next_attempt_at",
    "attempts",
    "updated_at",
)


def _record_outcomes(outcomes: list[Delivery], worker_id: str) -> None:
    """Write every outcome, only to rows this worker still holds: if its lease ran out and another worker
    took them over, that worker's result stands.

    One parameterised UPDATE run for all rows (executemany: pipelined on PostgreSQL), not `bulk_update`,
    whose CASE expression over nine fields cost ~5 ms of Python per row and was half the worker's time."""
    if not outcomes:
        return
    now = timezone.now()
    fields = [f for f in Delivery._meta.concrete_fields if f.name in OUTCOME_FIELDS]
    connection = connections[Delivery.objects.db]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    # Only quoted model names are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {quote(Delivery._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote('id')} = %s AND {quote('claimed_by')} = %s"
    )
    rows = []
    for delivery in outcomes:
        delivery.updated_at = now
        values = [f.get_db_prep_save(getattr(delivery, f.attname), connection) for f in fields]
        rows.append([*values, delivery.pk, worker_id])
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def next_due_at() -> datetime.datetime | None:
    """When the earliest waiting delivery becomes ready: a retry's due time or a claim's lease expiry."""
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.PROCESSING)
    ).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=Delivery.Status.PENDING)),
        lease=Min("lease_expires_at", filter=Q(status=Delivery.Status.PROCESSING)),
    )
    retry, now = due["retry"], timezone.now()
    if retry is not None and retry <= now:
        # Ready, but held back to fill a group of contacts or while a burst lasts: look again shortly.
        retry = now + max(coalesce_window(), datetime.timedelta(seconds=BURST_SAMPLE_SECONDS / 2))
    times = [t for t in (retry, due["lease"]) if t is not None]
    return min(times) if times else None


def _all_tag_ids(contacts: Iterable[Contact]) -> set[int]:
    return {tag_id for contact in contacts for tag_id in contact.tag_ids}


def _retry_kind(error: OntraportError) -> dict[str, Any]:
    """Rate limiting never uses up an attempt; rejected credentials get a reason of their own, so the site
    owner sees a configuration problem rather than a generic failure."""
    return {
        "count_attempt": not isinstance(error, RateLimitedError),
        "reason": "ontraport_credentials" if isinstance(error, AuthenticationError) else "retrying",
    }


def _describe(error: OntraportError) -> str:
    if isinstance(error, AuthenticationError):
        return "Ontraport rejected the API credentials (check ONTRAPORT_APP_ID and ONTRAPORT_API_KEY)"
    return f"Ontraport error: {error}"
