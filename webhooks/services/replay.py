"""Replaying deliveries: run finished webhooks again, e.g. after fixing a field mapping or an outage.

A replay fetches the contact as it is *now* (as every delivery does), so it is safe to replay anything:
applying a contact is idempotent (accounts.services.contacts_apply).
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.history import history_record
from accounts.models import User
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.selectors import deliveries_replayable
from webhooks.signals import deliveries_queued

REPLAY_SLICE = 500
# Why a delivery was left out of a replay (webhooks.selectors.deliveries_replayable), for every caller (the
# admin's button and action, the command).
NOT_REPLAYABLE = (
    "only done or failed add, update and update_tags deliveries with a contact id can be replayed"
)


@transaction.atomic
def deliveries_replay(*, queryset: QuerySet[Delivery], by: str, actor: User | None = None) -> int:
    """Put the replayable deliveries of `queryset` back in the queue and wake the worker once they are
    committed. Returns how many were replayed; the caller tells the rest were skipped.

    `by` names who asked (an admin's username, or the command); `actor` is that admin's user, if any.
    Each replayed delivery gets a "manual replay" row in its attempt log (who, when), so its page can say
    which attempts came after the replay, and the admin's history records it.

    Attempts start again from zero: a delivery that gave up after the maximum would otherwise fail at
    its first transient error. The claim is cleared too, so a worker that lost its lease on the row long
    ago can never record an old outcome over the replay (outcomes are written only where claimed_by
    still names the worker).
    """
    now = timezone.now()
    # Locked on their own rows (the admin's queryset may join users, which FOR UPDATE refuses on PostgreSQL).
    replayable = deliveries_replayable(queryset=queryset).values("pk")
    locked = Delivery.objects.filter(pk__in=replayable).select_for_update().order_by("pk")
    ids = list(locked.values_list("pk", flat=True))
    replayed = 0
    # In slices, so `--failed` over a large log stays within SQLite's limit of variables per statement.
    for start in range(0, len(ids), REPLAY_SLICE):
        chunk = ids[start : start + REPLAY_SLICE]
        replayed += Delivery.objects.filter(pk__in=chunk).update(
            status=Delivery.Status.PENDING,
            reason="",
            message=f"replayed by {by}"[:2000],
            attempts=0,
            next_attempt_at=now,
            claimed_by="",
            lease_expires_at=None,
            finished_at=None,
            updated_at=now,
        )
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    delivery_id=pk,
                    number=0,
                    at=now,
                    status=Delivery.Status.PENDING,
                    message=f"replayed by {by}"[:2000],
                    kind=DeliveryAttempt.Kind.REPLAY,
                    by=actor,
                )
                for pk in chunk
            ]
        )
        history_record(
            actor=actor, objects=Delivery.objects.filter(pk__in=chunk), message="Replayed (manual)"
        )
    if replayed:
        # Robust, as for an incoming webhook: the replay is committed whether or not the wake-up can be
        # enqueued (a failure is logged, and the next wake-up drains these rows with the rest).
        transaction.on_commit(lambda: deliveries_queued.send(sender=Delivery), robust=True)
    return replayed
