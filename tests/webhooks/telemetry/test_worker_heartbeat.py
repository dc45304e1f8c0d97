"""A real `manage.py fusion_worker`: seen alive while idle, gone at once when stopped, stale when killed."""

import signal

import pytest

from tests.support.factories import DeliveryFactory
from tests.support.processes import site_env
from tests.support.waiting import wait_until
from webhooks.telemetry.models import WorkerHeartbeat
from webhooks.telemetry.selectors import workers_alive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_idle_worker_beats_and_a_clean_stop_is_seen_at_once(processes, client):
    worker = processes.fusion_worker(site_env(None, FUSION_HEARTBEAT_SECONDS=0.2))
    wait_until(lambda: workers_alive() == 1, timeout=60, what="the worker beats")
    first = WorkerHeartbeat.objects.get().seen_at
    wait_until(lambda: WorkerHeartbeat.objects.get().seen_at > first, timeout=30, what="it beats again")
    assert client.get("/readyz").status_code == 200

    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)

    assert workers_alive() == 0
    assert WorkerHeartbeat.objects.get().stopped_at is not None
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "No worker is running" in response.json()["checks"]["workers"]["detail"]


def test_a_killed_worker_goes_stale(processes, client, settings):
    settings.FUSION_WORKER_STALE_SECONDS = 1
    worker = processes.fusion_worker(site_env(None, FUSION_HEARTBEAT_SECONDS=0.2))
    wait_until(lambda: workers_alive() == 1, timeout=60, what="the worker beats")

    worker.kill()  # SIGKILL: no clean stop recorded
    worker.wait(timeout=30)

    assert WorkerHeartbeat.objects.get().stopped_at is None
    wait_until(lambda: workers_alive() == 0, timeout=30, what="its heartbeat goes stale")
    assert client.get("/readyz").status_code == 503


def test_a_delivery_stored_without_a_wake_up_is_applied_by_a_running_worker(processes, site_sandbox):
    from django_tasks_db.models import DBTaskResult

    from webhooks.models import Delivery

    processes.fusion_worker(site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.2))
    wait_until(lambda: bool(workers_alive()), timeout=30, what="the worker beats")
    DBTaskResult.objects.all().delete()
    # As if the webhook's wake-up had been lost: the row alone, no task to drain it.
    delivery = DeliveryFactory(action="add", contact_id=1)

    def applied() -> bool:
        delivery.refresh_from_db()
        return delivery.status == Delivery.Status.DONE

    wait_until(applied, timeout=60, what="the heartbeat's safety net wakes the worker")
