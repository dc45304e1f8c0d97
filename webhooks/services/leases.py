"""Lease renewal: a live worker keeps the claims it holds, a dead one loses them after one short lease.

A worker may hold a claim for longer than FUSION_LEASE_SECONDS without being stuck: it waits for
Ontraport's rate-limit window (up to a minute) with a batch in hand. Its heartbeat thread renews the
leases of the deliveries its process holds, so the lease can be short (a killed worker's deliveries come
back soon) without a slow but live worker losing its claims to another worker, which would fetch the same
contacts again. A claim is renewed for at most FUSION_LEASE_MAX_HOLD_SECONDS: a worker whose main thread
hangs while its heartbeat goes on does not keep deliveries for ever.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webhooks.models import Delivery


def deliveries_lease_renew(*, holder_prefix: str) -> int:
    """Extend the unexpired leases held by `holder_prefix` to a full FUSION_LEASE_SECONDS from now.

    Rows locked by another transaction are skipped (SKIP LOCKED): they are the ones this process's worker
    thread is writing the outcomes of right now, so they need no renewal. Waiting for them instead could
    deadlock with that write (each locking its rows in its own order); PostgreSQL would then abort one of
    the two, and an aborted outcome write leaves the batch claimed."""
    now = timezone.now()
    held = Delivery.objects.filter(
        status=Delivery.Status.PROCESSING,
        claimed_by__startswith=holder_prefix,
        lease_expires_at__gt=now,
        # updated_at is set when the claim is made (and by nothing else while it is held).
        updated_at__gt=now - datetime.timedelta(seconds=settings.FUSION_LEASE_MAX_HOLD_SECONDS),
    )
    with transaction.atomic(using=held.db):
        unlocked = held.order_by().select_for_update(skip_locked=True).values("pk")
        return (
            Delivery.objects.filter(pk__in=unlocked)
            .order_by()
            .update(lease_expires_at=now + datetime.timedelta(seconds=settings.FUSION_LEASE_SECONDS))
        )


def deliveries_claims_release_held(*, holder_prefix: str) -> int:
    """End at once the leases of every claim `holder_prefix` still holds, so any worker may take them.

    For a worker process between two drains: a drain that finished has no claim left, so whatever this
    process still holds then belongs to a drain that died (a database outage broke it before it could
    record its outcomes or hand its claim back). The heartbeat would otherwise renew those leases for up to
    FUSION_LEASE_MAX_HOLD_SECONDS while nothing works on them."""
    now = timezone.now()
    held = Delivery.objects.filter(
        status=Delivery.Status.PROCESSING, claimed_by__startswith=holder_prefix, lease_expires_at__gt=now
    )
    return held.update(lease_expires_at=now)
