"""The worker's side: batching, merging, retries, leases and wake-ups."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from tests.support.factories import DeliveryFactory, GroupFactory, contact_data
from webhooks.models import Delivery
from webhooks.services.claiming import deliveries_claim, next_due_at
from webhooks.services.merging import merge_deliveries
from webhooks.services.processing import deliveries_process
from webhooks.tasks import process_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def test_120_contacts_are_fetched_in_3_calls(site_sandbox):
    ids = range(1000, 1120)
    site_sandbox.add_contacts([contact_data(i, prefix="bulk", contact_cat="*/*1*/*") for i in ids])
    for contact_id in ids:
        DeliveryFactory(action="add", contact_id=contact_id)
    before = site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0)

    totals = process_deliveries.call()

    assert totals["done"] == 120
    assert site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) - before == 3
    assert User.objects.filter(contact_id__in=ids).count() == 120


def test_deliveries_for_one_contact_are_merged_into_one_application(site_sandbox, mailoutbox):
    GroupFactory(name="customer")
    deliveries = [
        DeliveryFactory(action="update_tags", contact_id=2),
        DeliveryFactory(action="add", contact_id=2, options={"role": "customer", "send_notification": True}),
        DeliveryFactory(action="update", contact_id=2),
        DeliveryFactory(action="update_tags", contact_id=2),
    ]
    process_deliveries.call()

    user = User.objects.get(contact_id=2)
    assert list(user.groups.values_list("name", flat=True)) == ["customer"]
    assert len(mailoutbox) == 1
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.user_id) == (Delivery.Status.DONE, user.pk)
    assert site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) == 1


def test_merge_rules():
    def d(action, **options):
        return DeliveryFactory.build(action=action, options=options, contact_id=1)

    assert merge_deliveries([d("update_tags"), d("update")]).action == "update"
    assert merge_deliveries([d("update"), d("add"), d("update_tags")]).action == "add"
    merged = merge_deliveries(
        [d("update", role="editor"), d("add", role="customer"), d("add", send_notification=True)]
    )
    assert (merged.role, merged.send_notification) == ("customer", True)
    assert merge_deliveries([d("update", role="editor"), d("update_tags")]).role == "editor"
    assert merge_deliveries([d("update", send_notification=True)]).send_notification is False


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 503}, {"malformed": True}, {"html": True}, {"status": 401}, {"status": 429}],
)
def test_transient_failures_wait_and_retry_then_complete(site_sandbox, fault):
    delivery = DeliveryFactory(action="add", contact_id=3)
    site_sandbox.fault(**fault, count=1, endpoint="GET /Contacts")

    process_deliveries.call()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at > timezone.now()
    assert "retrying" in delivery.message
    assert User.objects.count() == 0
    if fault.get("status") == 401:
        assert "credentials" in delivery.message
        assert delivery.reason == "ontraport_credentials"
    else:
        assert delivery.reason == "retrying"

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    process_deliveries.call()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
    assert User.objects.filter(contact_id=3).count() == 1


def test_rate_limiting_never_uses_up_attempts(site_sandbox, settings):
    settings.FUSION_MAX_ATTEMPTS = 1
    delivery = DeliveryFactory(action="add", contact_id=3)
    site_sandbox.fault(status=429, count=1, endpoint="GET /Contacts")
    process_deliveries.call()
    delivery.refresh_from_db()
    # The worker did take it and meet the 429 (not merely leave the delivery as it was stored) ...
    assert site_sandbox.pending_faults() == []
    assert delivery.claimed_by and "429" in delivery.message and "retrying" in delivery.message
    assert delivery.next_attempt_at > timezone.now()
    # ... and the attempt it used was given back.
    assert (delivery.status, delivery.reason, delivery.attempts) == (Delivery.Status.PENDING, "retrying", 0)


def test_a_delivery_fails_visibly_after_the_last_attempt(site_sandbox, settings):
    settings.FUSION_MAX_ATTEMPTS = 2
    delivery = DeliveryFactory(action="add", contact_id=3)
    site_sandbox.fault(status=500, count=5, endpoint="GET /Contacts")
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        process_deliveries.call()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason, delivery.attempts) == (Delivery.Status.FAILED, "gave_up", 2)
    assert "500" in delivery.message


def test_a_timeout_is_retried(site_sandbox, settings):
    settings.ONTRAPORT_TIMEOUT = 0.2
    from accounts.ontraport import ontraport_client

    ontraport_client.cache_clear()
    delivery = DeliveryFactory(action="update_tags", contact_id=3)
    site_sandbox.fault(delay_ms=1000, count=1, endpoint="GET /Contacts")
    process_deliveries.call()
    delivery.refresh_from_db()
    assert site_sandbox.pending_faults() == []  # the slow answer was really met
    assert (delivery.status, delivery.reason, delivery.attempts) == (Delivery.Status.PENDING, "retrying", 1)
    assert "attempt 1 failed" in delivery.message and delivery.next_attempt_at > timezone.now()
    ontraport_client.cache_clear()


def test_a_claim_whose_worker_died_is_taken_over_after_its_lease(site_sandbox):
    delivery = DeliveryFactory(action="add", contact_id=4)
    claimed = deliveries_claim(worker_id="worker-that-dies")
    assert [d.pk for d in claimed] == [delivery.pk]
    assert deliveries_claim(worker_id="other") == []  # leased: nobody else takes it

    Delivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    taken_over = deliveries_claim(worker_id="rescuer")
    assert [d.pk for d in taken_over] == [delivery.pk]
    deliveries_process(deliveries=taken_over, worker_id="rescuer")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DONE, 2)


def test_a_late_worker_does_not_overwrite_the_rescuers_outcome(site_sandbox):
    delivery = DeliveryFactory(action="add", contact_id=4)
    stale = deliveries_claim(worker_id="slow")
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    deliveries_process(deliveries=deliveries_claim(worker_id="rescuer"), worker_id="rescuer")
    site_sandbox.delete_contact(4)
    deliveries_process(deliveries=stale, worker_id="slow")  # would record "not found"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_by) == (Delivery.Status.DONE, "rescuer")


def test_next_due_at_names_the_earliest_retry_or_lease():
    soon = timezone.now() + datetime.timedelta(seconds=30)
    later = timezone.now() + datetime.timedelta(seconds=90)
    DeliveryFactory(action="add", contact_id=1, next_attempt_at=later)
    DeliveryFactory(processing=True, action="add", contact_id=2, lease_expires_at=soon)
    DeliveryFactory(done=True, action="add", contact_id=3, next_attempt_at=soon)
    assert next_due_at() == soon


def claim_with_coalescing(**kwargs):
    return Delivery.objects.claim(
        worker_id="w", limit=200, lease=datetime.timedelta(seconds=60), chunk=50, **kwargs
    )


def test_a_young_partial_group_of_contacts_waits_to_fill_up():
    for contact_id in range(1, 31):
        DeliveryFactory(action="update_tags", contact_id=contact_id)
    assert claim_with_coalescing(coalesce=datetime.timedelta(seconds=30)) == []
    assert Delivery.objects.filter(status="pending").count() == 30


def test_whole_groups_are_taken_at_once_and_the_young_rest_waits():
    for contact_id in range(1, 61):
        DeliveryFactory(action="update_tags", contact_id=contact_id)
        DeliveryFactory(action="update", contact_id=contact_id)
    claimed = claim_with_coalescing(coalesce=datetime.timedelta(seconds=30))
    assert {d.contact_id for d in claimed} == set(range(1, 51))
    assert len(claimed) == 100
    assert set(Delivery.objects.filter(status="pending").values_list("contact_id", flat=True)) == set(
        range(51, 61)
    )


def test_a_partial_group_that_waited_long_enough_is_taken():
    for contact_id in range(1, 31):
        DeliveryFactory(action="update_tags", contact_id=contact_id)
    Delivery.objects.update(received_at=timezone.now() - datetime.timedelta(seconds=31))
    assert len(claim_with_coalescing(coalesce=datetime.timedelta(seconds=30))) == 30


def test_held_back_deliveries_get_a_wake_up_one_window_later(settings, database_tasks):
    settings.FUSION_COALESCE_SECONDS = 5
    DeliveryFactory(action="update_tags", contact_id=1)
    due = next_due_at()
    assert due is not None
    assert (
        timezone.now() + datetime.timedelta(seconds=4) < due <= timezone.now() + datetime.timedelta(seconds=5)
    )


@pytest.fixture
def burst(settings, database_tasks):
    """A database task backend and FUSION_BURST_RATE=10/s: a burst is what `arrive` stores faster."""
    settings.FUSION_BURST_RATE = 10
    settings.FUSION_BURST_MAX_HOLD_SECONDS = 60


def arrive(count: int, seconds: float, first_contact: int = 1) -> None:
    """`count` webhooks stored evenly over the last `seconds`, for contacts from `first_contact` on."""
    now = timezone.now()
    for n in range(count):
        at = now - datetime.timedelta(seconds=seconds * (count - n) / count)
        DeliveryFactory(action="add", contact_id=first_contact + n, received_at=at, next_attempt_at=at)


def time_passes(seconds: float) -> None:
    """Move every stored webhook `seconds` into the past: as if that long went by with nothing new."""
    shift = datetime.timedelta(seconds=seconds)
    Delivery.objects.update(
        received_at=F("received_at") - shift, next_attempt_at=F("next_attempt_at") - shift
    )


def test_during_a_burst_new_deliveries_are_held_so_repeats_merge(burst):
    arrive(30, seconds=1.5)  # 20 a second, over the rate of 10
    assert deliveries_claim(worker_id="w") == []
    assert Delivery.objects.filter(status="pending").count() == 30


def test_once_the_burst_slows_the_held_deliveries_are_taken(burst):
    arrive(30, seconds=1.5)
    assert deliveries_claim(worker_id="w") == []
    time_passes(3)  # nothing more arrived
    assert len(deliveries_claim(worker_id="w")) == 30


def test_a_burst_is_held_from_its_first_moments(burst):
    """Its first rows are a burst already (every call spent on them is spent again on the same contacts'
    later webhooks): 15 webhooks in its first 0.1 s."""
    arrive(15, seconds=0.1)
    assert deliveries_claim(worker_id="w") == []


def test_a_burst_that_slows_for_a_moment_is_still_held(burst):
    """A web node restarting mid-burst halves the rate for a few seconds: letting go then would spend
    calls on contacts whose next webhook is on its way. A rate that stays low ends the hold."""
    arrive(60, seconds=3)  # 20 a second, over the rate of 10
    time_passes(2)
    arrive(14, seconds=2, first_contact=100)  # then 7 a second for 2 s: under 10, over half of it
    assert deliveries_claim(worker_id="w") == []

    time_passes(2)  # nothing more: the burst is over
    assert len(deliveries_claim(worker_id="w")) == 74


def test_imports_and_sweeps_are_no_burst(burst):
    arrive(30, seconds=1.5)
    Delivery.objects.update(source=Delivery.Source.IMPORT)  # an import logs 50 rows a page
    assert len(deliveries_claim(worker_id="w")) == 30


def test_a_burst_never_holds_a_delivery_longer_than_the_maximum(burst):
    """A burst longer than the hold lets go of what has waited the maximum (with every other delivery of
    its contact), and keeps merging the rest."""
    arrive(30, seconds=1.5)
    DeliveryFactory(action="update", contact_id=1)  # contact 1's second webhook: fetched with its first
    Delivery.objects.filter(contact_id__in=[1, 2], action="add").update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=61)
    )
    claimed = deliveries_claim(worker_id="w")
    assert sorted((d.contact_id, d.action) for d in claimed) == [(1, "add"), (1, "update"), (2, "add")]
    assert Delivery.objects.filter(status="pending").count() == 28


def test_a_trickle_is_never_held(burst):
    arrive(10, seconds=1.5)  # under 10 a second
    assert len(deliveries_claim(worker_id="w")) == 10


def test_a_lone_webhook_is_fetched_at_once_even_with_coalescing_on(burst, settings):
    settings.FUSION_COALESCE_SECONDS = 5
    arrive(1, seconds=0.01)
    assert len(deliveries_claim(worker_id="w")) == 1


def test_a_fast_stream_waits_to_fill_a_group(burst, settings):
    settings.FUSION_COALESCE_SECONDS = 5
    settings.FUSION_BURST_RATE = 1000  # not a burst: only coalescing is at work
    arrive(30, seconds=1.5)  # 20 a second: a group of 50 fills within 5 s
    assert deliveries_claim(worker_id="w") == []


def test_a_delivery_whose_worker_keeps_dying_fails_after_the_last_attempt(settings):
    """A claim counts an attempt; a lease that runs out on the last one fails the delivery, whatever
    happened inside the worker, instead of re-claiming it for ever."""
    settings.FUSION_MAX_ATTEMPTS = 3
    delivery = DeliveryFactory(action="add", contact_id=3)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PROCESSING,
        attempts=3,
        claimed_by="dead-worker",
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )

    assert deliveries_claim(worker_id="next") == []

    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "gave_up")
    assert "lease ran out" in delivery.message and delivery.finished_at is not None
