"""Four real `manage.py db_worker` processes draining one queue on PostgreSQL: SKIP LOCKED gives each
delivery to exactly one worker, once. (SQLite serialises writers, so the race this guards against is
PostgreSQL's.)"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django_tasks_db.backend import DatabaseBackend

from webhooks.models import Delivery
from webhooks.tasks import process_deliveries

BASE_DIR = Path(__file__).resolve().parents[2]
User = get_user_model()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL"),
]

WORKERS = 4
DELIVERIES = 2000
CONTACTS = range(50_000, 50_000 + DELIVERIES)


def _test_database_url() -> str:
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "postgres")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def workers(site_sandbox, tmp_path) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "TASK_BACKEND": "database",
        "ONTRAPORT_API_URL": site_sandbox.url,
        "ONTRAPORT_APP_ID": site_sandbox.app_id,
        "ONTRAPORT_API_KEY": site_sandbox.api_key,
        # Small claims, so the four workers really interleave over the 2,000 deliveries.
        "FUSION_BATCH_SIZE": "50",
    }
    processes = []
    for n in range(WORKERS):
        log = (tmp_path / f"worker-{n}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def test_four_workers_apply_each_delivery_exactly_once(site_sandbox, workers):
    site_sandbox.add_contacts(
        [{"id": str(i), "firstname": "W", "lastname": str(i), "email": f"w{i}@example.com"} for i in CONTACTS]
    )
    Delivery.objects.bulk_create(
        [Delivery(action="add", contact_id=i, method="GET", path="/") for i in CONTACTS]
    )
    # A wake-up per worker, as a burst's throttled wake-ups (one per web process per 0.5 s) leave several
    # pending: a single wake-up is run by one worker, which would then drain everything alone. Enqueued
    # through the database backend the workers read (the tests' own backend runs tasks inline).
    for _ in range(WORKERS):
        DatabaseBackend("default", {}).enqueue(process_deliveries, (), {})

    unfinished = Delivery.objects.exclude(status__in=[Delivery.Status.DONE, Delivery.Status.FAILED])
    wait_until(lambda: not unfinished.exists(), timeout=240, what="the workers to drain 2,000 deliveries")

    assert all(process.poll() is None for process in workers)  # none crashed
    deliveries = Delivery.objects.filter(contact_id__in=CONTACTS)
    assert deliveries.count() == DELIVERIES
    assert set(deliveries.values_list("status", "attempts").distinct()) == {(Delivery.Status.DONE, 1)}
    assert User.objects.filter(contact_id__in=CONTACTS).count() == DELIVERIES
    assert not User.objects.values("contact_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    users = dict(User.objects.filter(contact_id__in=CONTACTS).values_list("contact_id", "pk"))
    assert all(users[d.contact_id] == d.user_id for d in deliveries.only("contact_id", "user_id"))
    assert deliveries.values("claimed_by").distinct().count() > 1  # the work was shared
