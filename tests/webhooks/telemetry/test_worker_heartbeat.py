"""A real `manage.py fusion_worker`: seen alive while idle, gone at once when stopped, stale when killed."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from webhooks.telemetry.models import WorkerHeartbeat
from webhooks.telemetry.selectors import workers_alive

BASE_DIR = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings.get("USER") or "postgres")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **extra_env,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "TASK_BACKEND": "database",
            "FUSION_HEARTBEAT_SECONDS": "0.2",
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "fusion_worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_an_idle_worker_beats_and_a_clean_stop_is_seen_at_once(start_worker, client):
    worker = start_worker()
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


def test_a_killed_worker_goes_stale(start_worker, client, settings):
    settings.FUSION_WORKER_STALE_SECONDS = 1
    worker = start_worker()
    wait_until(lambda: workers_alive() == 1, timeout=60, what="the worker beats")

    worker.kill()  # SIGKILL: no clean stop recorded
    worker.wait(timeout=30)

    assert WorkerHeartbeat.objects.get().stopped_at is None
    wait_until(lambda: workers_alive() == 0, timeout=30, what="its heartbeat goes stale")
    assert client.get("/readyz").status_code == 503


def test_a_delivery_stored_without_a_wake_up_is_applied_by_a_running_worker(start_worker, site_sandbox):
    from django_tasks_db.models import DBTaskResult

    from webhooks.models import Delivery

    start_worker(
        ONTRAPORT_API_URL=site_sandbox.url,
        ONTRAPORT_APP_ID=site_sandbox.app_id,
        ONTRAPORT_API_KEY=site_sandbox.api_key,
    )
    wait_until(lambda: bool(workers_alive()), timeout=30, what="the worker beats")
    DBTaskResult.objects.all().delete()
    # As if the webhook's wake-up had been lost: the row alone, no task to drain it.
    delivery = Delivery.objects.create(action="add", contact_id=1, method="GET", path="/")

    def applied() -> bool:
        delivery.refresh_from_db()
        return delivery.status == Delivery.Status.DONE

    wait_until(applied, timeout=60, what="the heartbeat's safety net wakes the worker")
