"""Recording what became of claimed deliveries: done, failed, or pending again for a later attempt."""

import datetime
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from accounts.reasons import FailureReason
from webhooks.models import Delivery, DeliveryAttempt


@dataclass
class BatchReport:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    retrying: int = 0
    outcomes: list[Delivery] = field(default_factory=list)

    def finish(
        self,
        group: Iterable[Delivery],
        status: str,
        reason: str,
        message: str,
        user_id: int | None = None,
    ) -> None:
        now = timezone.now()
        for delivery in group:
            delivery.status, delivery.reason, delivery.message = status, reason, message[:2000]
            delivery.user_id = user_id
            delivery.finished_at = now
            delivery.lease_expires_at = None
            self.outcomes.append(delivery)
            if status == Delivery.Status.DONE:
                self.done += 1
            else:
                self.failed += 1

    def retry_later(
        self,
        group: Iterable[Delivery],
        message: str,
        *,
        count_attempt: bool = True,
        reason: str = FailureReason.RETRYING,
        delay: datetime.timedelta | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """Try again after `delay` (default: exponential and jittered), or fail once the attempts are used up
        (FUSION_MAX_ATTEMPTS unless the reason has its own number)."""
        now = timezone.now()
        limit = max_attempts or settings.FUSION_MAX_ATTEMPTS
        for delivery in group:
            if not count_attempt:
                delivery.attempts -= 1  # rate limiting never uses up a delivery's attempts
            if delivery.attempts >= limit:
                final = FailureReason.GAVE_UP if reason == FailureReason.RETRYING else reason
                self.finish(
                    [delivery],
                    Delivery.Status.FAILED,
                    final,
                    f"gave up after {delivery.attempts} attempts: {message}",
                )
                continue
            delivery.status = Delivery.Status.PENDING
            delivery.reason = reason
            delivery.message = f"attempt {delivery.attempts} failed: {message}; retrying"[:2000]
            delivery.next_attempt_at = now + (delay or retry_delay(delivery.attempts))
            delivery.lease_expires_at = None
            self.outcomes.append(delivery)
            self.retrying += 1


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


def deliveries_record_outcomes(*, outcomes: list[Delivery], worker_id: str) -> None:
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
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        _attempts_log(outcomes, worker_id, now, connection.alias)


def _attempts_log(outcomes: list[Delivery], worker_id: str, now: datetime.datetime, alias: str) -> None:
    """One row per attempt, for the rows this worker still held (the others' outcomes were not written):
    a delivery's page shows every attempt and its outcome."""
    held = set(
        Delivery.objects.using(alias)
        .filter(pk__in=[delivery.pk for delivery in outcomes], claimed_by=worker_id)
        .values_list("pk", flat=True)
    )
    DeliveryAttempt.objects.using(alias).bulk_create(
        [
            DeliveryAttempt(
                delivery_id=delivery.pk,
                number=delivery.attempts,
                at=now,
                worker=worker_id[:64],
                status=delivery.status,
                reason=delivery.reason,
                message=delivery.message,
            )
            for delivery in outcomes
            if delivery.pk in held
        ]
    )
