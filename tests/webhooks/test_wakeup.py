"""Waking the worker with the database task backend: cheap for the endpoint, never leaving work behind."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from webhooks import wakeup
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries, wake_worker_at

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def database_tasks(settings, monkeypatch):
    settings.TASKS = DATABASE_TASKS
    monkeypatch.setattr(wakeup, "_last_wake", 0.0)


def wake_ups() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=wakeup.TASK_PATH, status="READY"))


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
    Delivery.objects.create(action="add", contact_id=1, method="GET", path="/")
    process_deliveries.call()
    due_times = sorted(task.run_after for task in wake_ups())
    assert due_times[-1] > timezone.now() + datetime.timedelta(seconds=55)


def test_a_retry_gets_a_wake_up_at_its_due_time(site_sandbox, database_tasks):
    DBTaskResult.objects.all().delete()
    delivery = Delivery.objects.create(action="add", contact_id=1, method="GET", path="/")
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
