"""A live worker's heartbeat renews the leases it holds; expired, foreign or too-old claims are left alone."""

import datetime
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.support.factories import DeliveryFactory
from webhooks.models import Delivery
from webhooks.services.leases import deliveries_claims_release_held, deliveries_lease_renew
from webhooks.telemetry.process_id import process_id_prefix

pytestmark = pytest.mark.django_db


def claimed(claimed_by: str, *, lease_in: float, claimed_ago: float = 5) -> Delivery:
    now = timezone.now()
    return DeliveryFactory(
        processing=True,
        action="add",
        claimed_by=claimed_by,
        lease_expires_at=now + datetime.timedelta(seconds=lease_in),
        updated_at=now - datetime.timedelta(seconds=claimed_ago),
    )


def test_renews_this_holders_live_claims_only(settings):
    settings.FUSION_LEASE_SECONDS = 30
    settings.FUSION_LEASE_MAX_HOLD_SECONDS = 600
    mine = claimed("host:42:abcd", lease_in=3)
    other = claimed("host:421:ef01", lease_in=3)  # pid 421 is not pid 42
    expired = claimed("host:42:abcd", lease_in=-1)  # another worker may take it now: not ours to keep
    too_old = claimed("host:42:abcd", lease_in=3, claimed_ago=700)  # a hung worker must let go

    assert deliveries_lease_renew(holder_prefix="host:42:") == 1

    def lease_left(delivery: Delivery) -> float:
        delivery.refresh_from_db()
        return (delivery.lease_expires_at - timezone.now()).total_seconds()

    assert 25 < lease_left(mine) <= 30
    assert lease_left(other) <= 3
    assert lease_left(expired) < 0
    assert lease_left(too_old) <= 3


def test_the_prefix_names_this_process():
    import os

    assert process_id_prefix().endswith(f":{os.getpid()}:")


# serialized_rollback as every transactional test here: a plain flush re-creates content types, which the
# next serialized test then inserts again (a duplicate key).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_renewal_skips_the_rows_being_written_instead_of_waiting_for_them(settings):
    """The worker thread writing a batch's outcomes locks its rows; the heartbeat renewing the same
    process's leases must not wait on them (each locking in its own order, the two could deadlock and
    PostgreSQL would abort one: an aborted outcome write left the batch claimed)."""
    settings.FUSION_LEASE_SECONDS = 30
    settings.FUSION_LEASE_MAX_HOLD_SECONDS = 600
    being_written = claimed("host:42:abcd", lease_in=3)
    idle = claimed("host:42:abcd", lease_in=3)
    locked, release = threading.Event(), threading.Event()

    def write_outcomes() -> None:
        with transaction.atomic():
            Delivery.objects.select_for_update().get(pk=being_written.pk)
            locked.set()
            release.wait(30)
        connections.close_all()

    writer = threading.Thread(target=write_outcomes)
    writer.start()
    try:
        assert locked.wait(10)
        assert deliveries_lease_renew(holder_prefix="host:42:") == 1  # answered without waiting
    finally:
        release.set()
        writer.join()
    being_written.refresh_from_db()
    idle.refresh_from_db()
    assert (being_written.lease_expires_at - timezone.now()).total_seconds() <= 3
    assert (idle.lease_expires_at - timezone.now()).total_seconds() > 25


def test_claims_left_between_drains_are_let_go_for_the_next_drain():
    # A drain broken by a database outage could not record outcomes or hand its claim back.
    dead_drains = [claimed("host:42:abcd", lease_in=300), claimed("host:42:ef01", lease_in=300)]
    other_process = claimed("host:421:abcd", lease_in=300)
    done = claimed("host:42:abcd", lease_in=300)
    Delivery.objects.filter(pk=done.pk).update(status=Delivery.Status.DONE)

    assert deliveries_claims_release_held(holder_prefix="host:42:") == 2

    for delivery in dead_drains:
        delivery.refresh_from_db()
        assert delivery.lease_expires_at <= timezone.now()  # claimable again at once
    other_process.refresh_from_db()
    assert other_process.lease_expires_at > timezone.now() + datetime.timedelta(seconds=200)
