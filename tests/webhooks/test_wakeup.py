"""Waking the worker with the database task backend: cheap for the endpoint, never leaving work behind."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import DeliveryFactory
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries, wake_worker_at, wake_worker_if_due

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wake_ups() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=process_deliveries.module_path, status="READY"))


def test_a_burst_of_webhooks_enqueues_one_wake_up_not_one_per_webhook(site_sandbox, webhook, database_tasks):
    for _ in range(20):
        assert webhook("update_tags", 1).status_code == 202
    assert Delivery.objects.filter(status="pending").count() == 20
    assert len(wake_ups()) == 1


def test_a_wake_up_drains_everything_and_schedules_its_tail(site_sandbox, webhook, database_tasks):
    for contact_id in (1, 2, 3):
        webhook("add", contact_id)
    totals = process_deliveries.call()
    assert totals["done"] == 3
    tail = [task for task in wake_ups() if task.run_after > timezone.now()]
    assert len(tail) == 1  # the one queued by the endpoint is still READY too, and is harmless


def test_a_claim_schedules_its_own_recovery_at_lease_expiry(site_sandbox, database_tasks, settings):
    settings.FUSION_LEASE_SECONDS = 60
    DBTaskResult.objects.all().delete()
    DeliveryFactory(action="add", contact_id=1)
    process_deliveries.call()
    due_times = sorted(task.run_after for task in wake_ups())
    assert due_times[-1] > timezone.now() + datetime.timedelta(seconds=55)


def test_a_retry_gets_a_wake_up_at_its_due_time(site_sandbox, database_tasks):
    DBTaskResult.objects.all().delete()
    delivery = DeliveryFactory(action="add", contact_id=1)
    site_sandbox.fault(status=500, count=1, endpoint="GET /Contacts")
    process_deliveries.call()
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert any(task.run_after <= delivery.next_attempt_at for task in wake_ups())


def test_asking_twice_for_a_wake_up_by_the_same_time_stores_one(database_tasks):
    DBTaskResult.objects.all().delete()
    when = timezone.now() + datetime.timedelta(seconds=30)
    wake_worker_at(when)
    wake_worker_at(when + datetime.timedelta(seconds=5))
    assert len(wake_ups()) == 1
    wake_worker_at(when - datetime.timedelta(seconds=10))  # earlier: needs its own
    assert len(wake_ups()) == 2


def test_the_heartbeat_safety_net_wakes_a_stranded_delivery_once(database_tasks):
    DBTaskResult.objects.all().delete()
    wake_worker_if_due()
    assert wake_ups() == []  # nothing waiting: nothing to wake for

    # Stored without its wake-up (the enqueue failed, or a web process's throttle swallowed it).
    DeliveryFactory(action="add", contact_id=1)
    wake_worker_if_due()
    wake_worker_if_due()  # every worker's heartbeat asks: one wake-up serves them all
    stranded = wake_ups()
    assert len(stranded) == 1
    assert stranded[0].run_after <= timezone.now() + datetime.timedelta(seconds=5)


def test_the_safety_net_wakes_for_a_dead_workers_claim_when_its_lease_runs_out(database_tasks):
    DBTaskResult.objects.all().delete()
    lease_end = timezone.now() + datetime.timedelta(seconds=40)
    DeliveryFactory(
        processing=True, action="add", contact_id=1, claimed_by="gone:1:abcd", lease_expires_at=lease_end
    )
    wake_worker_if_due()
    assert [task.run_after for task in wake_ups()] == [lease_end]


def test_a_drain_that_fails_with_a_claim_in_hand_lets_go_of_it(database_tasks, monkeypatch, settings):
    settings.FUSION_LEASE_SECONDS = 300
    DBTaskResult.objects.all().delete()
    delivery = DeliveryFactory(action="add", contact_id=1)

    def broken(**kwargs):
        raise RuntimeError("a bug in the batch")

    monkeypatch.setattr("webhooks.tasks.deliveries_process", broken)
    with pytest.raises(RuntimeError):
        process_deliveries.call()

    # Not held for the 300 s lease (the live process's heartbeat would have renewed it): ready again now,
    # with a wake-up due now.
    assert Delivery.objects.ready().filter(pk=delivery.pk).exists()
    assert any(task.run_after <= timezone.now() for task in wake_ups())


@pytest.mark.parametrize(("contacts", "fans_out"), [((1,), False), ((1, 2), True)])
def test_a_drain_that_leaves_work_behind_wakes_another_worker_for_it(
    site_sandbox, database_tasks, settings, contacts, fans_out
):
    """A backlog must not be drained by one worker while the others sit idle: a drain that claims a batch
    with more ready behind it queues a wake-up due now, which the next idle worker takes."""
    settings.FUSION_BATCH_SIZE = 1
    DBTaskResult.objects.all().delete()
    for contact_id in contacts:
        DeliveryFactory(action="add", contact_id=contact_id)
    started = timezone.now()

    process_deliveries.call()

    assert Delivery.objects.filter(status="done").count() == len(contacts)
    due_at_once = [task for task in wake_ups() if task.run_after <= started + datetime.timedelta(seconds=1)]
    assert bool(due_at_once) is fans_out
