"""/healthz, /readyz, `manage.py check` and the heartbeat as the site owner and a monitor see them."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.support.factories import DeliveryFactory
from webhooks.checks import workers_alive_check
from webhooks.telemetry.heartbeat import worker_heartbeat_beat, worker_heartbeat_stop
from webhooks.telemetry.models import WorkerHeartbeat
from webhooks.telemetry.selectors import workers_alive, workers_health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_when_no_worker_ever_ran_and_says_why(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True
    assert body["checks"]["workers"]["ok"] is False
    assert "No worker has ever run" in body["checks"]["workers"]["detail"]


def test_readyz_is_200_with_a_live_worker_and_no_secret_in_it(client, settings):
    worker_heartbeat_beat(worker_id="host:1:abc")

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["workers"]["alive"] == 1
    text = response.content.decode()
    for secret in (settings.FUSION_ACCESS_KEY, settings.ONTRAPORT_API_KEY, settings.SECRET_KEY):
        assert secret not in text


def test_a_worker_that_stops_beating_is_stale_and_a_clean_stop_counts_at_once(client, settings):
    settings.FUSION_WORKER_STALE_SECONDS = 45
    worker_heartbeat_beat(worker_id="killed")
    WorkerHeartbeat.objects.filter(worker_id="killed").update(
        seen_at=timezone.now() - datetime.timedelta(seconds=46)
    )
    worker_heartbeat_beat(worker_id="stopped")
    worker_heartbeat_stop(worker_id="stopped")

    assert workers_alive() == 0
    health = workers_health()
    assert "No worker is running" in health.problem
    assert "FUSION_WORKER_STALE_SECONDS=45" in health.problem
    assert client.get("/readyz").status_code == 503

    worker_heartbeat_beat(worker_id="stopped")  # the same worker id beating again is alive again
    assert workers_alive() == 1


def test_readyz_is_503_when_a_ready_delivery_waited_too_long(client, settings):
    settings.FUSION_READY_MAX_WAIT_SECONDS = 300
    worker_heartbeat_beat(worker_id="w")
    long_ago = timezone.now() - datetime.timedelta(seconds=400)
    DeliveryFactory(action="add", contact_id=1, next_attempt_at=long_ago)
    # Waiting for a retry in the future is not waiting too long.
    DeliveryFactory(action="add", contact_id=2, next_attempt_at=timezone.now() + datetime.timedelta(hours=1))

    response = client.get("/readyz")

    assert response.status_code == 503
    queue = response.json()["checks"]["queue"]
    assert queue["ok"] is False
    assert queue["depth"] == 2
    assert queue["oldest_waiting_seconds"] >= 400


@pytest.mark.usefixtures("database_tasks")
def test_check_warns_when_no_worker_is_alive_and_is_quiet_when_one_is():
    messages = workers_alive_check()
    assert [m.id for m in messages] == ["fusion.W001"]
    assert "No worker has ever run" in messages[0].msg

    worker_heartbeat_beat(worker_id="w")
    assert workers_alive_check() == []


@pytest.mark.usefixtures("database_tasks")
def test_manage_py_check_prints_the_warning(capsys):
    call_command("check")
    assert "fusion.W001" in capsys.readouterr().err


def test_no_warning_with_an_inline_task_backend():
    # The test settings run tasks inline (ImmediateBackend): webhooks are applied in the request.
    assert workers_alive_check() == []


@pytest.mark.usefixtures("database_tasks")
def test_the_deliveries_log_in_the_admin_says_when_no_worker_is_alive(admin):
    response = admin.get("/admin/webhooks/delivery/")
    assert response.status_code == 200
    assert "No worker has ever run" in response.content.decode()

    worker_heartbeat_beat(worker_id="w")
    response = admin.get("/admin/webhooks/delivery/")
    assert "No worker" not in response.content.decode()
