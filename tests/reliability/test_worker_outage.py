"""The real `fusion_worker` through a database outage: it waits, reconnects and carries on, and every
webhook accepted before and after is applied exactly once, with no restart.

PostgreSQL: the test's own database refuses connections and every connection to it is cut
(`ALTER DATABASE … ALLOW_CONNECTIONS false` + `pg_terminate_backend`), then the same for a failover's
read-only primary (`default_transaction_read_only`). SQLite: another process holds the write lock longer
than the busy timeout while the worker is inside a batch. Each fault used to end the worker with
OperationalError (InternalError for read-only) out of django-tasks-db's loop.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from ontraport_client.testing import unused_port
from tests.support.databases import postgres_server_url
from tests.support.factories import DeliveryFactory, contact_data
from tests.support.processes import enqueue_drain_in_database, site_env
from tests.support.waiting import wait_until
from tests.support.webhooks import send_webhook
from webhooks.models import Delivery
from webhooks.telemetry.models import WorkerHeartbeat

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.PROCESSING)


def seed(sandbox: Any, ids: list[int]) -> None:
    sandbox.add_contacts([contact_data(i, prefix="down") for i in ids])


def all_finished() -> bool:
    return Delivery.objects.exists() and not Delivery.objects.filter(status__in=UNFINISHED).exists()


def assert_each_applied_once(contact_ids: list[int]) -> None:
    deliveries = list(Delivery.objects.all())
    assert sorted(d.contact_id for d in deliveries) == sorted(contact_ids)
    assert {d.status for d in deliveries} == {Delivery.Status.DONE}, [d.message for d in deliveries]
    users = User.objects.filter(contact_id__in=contact_ids)
    per_contact = Counter(users.values_list("contact_id", flat=True))
    assert per_contact == Counter(contact_ids)  # one user per contact: nothing applied twice into a second
    for delivery in deliveries:
        assert delivery.user_id == User.objects.get(contact_id=delivery.contact_id).pk


@contextmanager
def postgres_maintenance() -> Iterator[Any]:
    """A connection to the server's `postgres` database (not the test's), to refuse and cut the test's."""
    import psycopg

    with psycopg.connect(f"{postgres_server_url()}/postgres", autocommit=True) as maintenance:
        yield maintenance


def cut_connections(maintenance: Any, name: str) -> None:
    maintenance.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )


@contextmanager
def postgres_outage(*, read_only: bool = False) -> Iterator[None]:
    """The test database down (refusing connections) or, with `read_only`, up but read-only as a demoted
    primary is; every existing connection to it cut either way. Only this test run's database is touched."""
    name = connection.settings_dict["NAME"]
    quoted = connection.ops.quote_name(name)
    try:
        with postgres_maintenance() as maintenance:
            if read_only:
                maintenance.execute(f"ALTER DATABASE {quoted} SET default_transaction_read_only = on")
            else:
                maintenance.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
            cut_connections(maintenance, name)
            try:
                yield
            finally:
                if read_only:
                    maintenance.execute(f"ALTER DATABASE {quoted} RESET default_transaction_read_only")
                    cut_connections(maintenance, name)  # sessions keep the setting they started with
                else:
                    maintenance.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")
    finally:
        connection.close()  # this process's own connection was cut too (also when the test failed)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="refuses and cuts a PostgreSQL database")
def test_fusion_worker_outlives_a_postgresql_outage_and_applies_every_webhook_once(
    site_sandbox, processes, figures
):
    before, during, after = list(range(4100, 4110)), list(range(4110, 4114)), list(range(4114, 4120))
    seed(site_sandbox, before + during + after)
    env = site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.5)
    port = unused_port()
    processes.web(env, port)
    worker = processes.fusion_worker(env)
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    url = f"http://127.0.0.1:{port}/"
    answers: Counter[int] = Counter()

    def send(contact_id: int) -> int:
        response = send_webhook(f"http://127.0.0.1:{port}", "add", contact_id)
        answers[response.status_code] += 1
        return response.status_code

    # Ontraport answers slowly, so the outage finds the worker inside a batch (deliveries claimed).
    site_sandbox.fault(delay_ms=3000, count=1, endpoint="GET /Contacts")
    assert [send(i) for i in before] == [202] * len(before)
    wait_until(
        lambda: site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) >= 1,
        timeout=30,
        what="the worker to be fetching its batch",
    )
    with postgres_outage():
        # First, while gunicorn still holds its (cut) connection: found out and said in words.
        readyz = requests.get(f"{url}readyz", timeout=30)
        assert readyz.status_code == 503
        assert readyz.json()["checks"]["database"] == {
            "ok": False,
            "detail": "database unreachable (OperationalError)",
        }
        # Not accepted while the database is down (Ontraport retries a 503), so nothing to apply later.
        assert [send(i) for i in during] == [503] * len(during)
        time.sleep(5)  # the 5-second outage that used to end the worker
        assert worker.poll() is None, processes.logs()
    outage_ended = time.time()

    assert [send(i) for i in after] == [202] * len(after), processes.logs()
    wait_until(all_finished, timeout=90, what=lambda: f"every delivery to finish\n{processes.logs()}")
    assert worker.poll() is None  # the same process throughout
    assert_each_applied_once(before + after)
    # The heartbeat survived too, and /readyz is ready again.
    heartbeat = WorkerHeartbeat.objects.get()
    wait_until(
        lambda: WorkerHeartbeat.objects.get(pk=heartbeat.pk).seen_at.timestamp() > outage_ended,
        timeout=10,
        what="a heartbeat after the outage",
    )
    wait_until(
        lambda: requests.get(f"{url}readyz", timeout=30).status_code == 200, timeout=30, what="/readyz ready"
    )
    log = processes.logs()
    assert "database unavailable (OperationalError" in log
    assert "database works again" in log
    sent = sum(answers.values())
    figures.record("fusion_worker through a 5 s PostgreSQL outage", sent=sent, answers=answers)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a read-only PostgreSQL database")
def test_fusion_worker_outlives_a_read_only_failover(site_sandbox, processes, figures):
    ids = list(range(4200, 4206))
    seed(site_sandbox, ids)
    env = site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.5)
    worker = processes.fusion_worker(env)
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    with postgres_outage(read_only=True):
        # The worker's next claim (SELECT … FOR UPDATE) is refused by the read-only primary.
        wait_until(
            lambda: "read-only" in processes.logs() or worker.poll() is not None,
            timeout=30,
            what="the worker to meet the read-only database",
        )
        time.sleep(2)
        assert worker.poll() is None, processes.logs()
    for contact_id in ids:
        DeliveryFactory(action="add", contact_id=contact_id)
    enqueue_drain_in_database()
    wait_until(all_finished, timeout=60, what=lambda: f"every delivery to finish\n{processes.logs()}")
    assert worker.poll() is None
    assert_each_applied_once(ids)
    assert "database unavailable (InternalError" in processes.logs()
    figures.record("fusion_worker through a read-only failover", sent=len(ids))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")
def test_fusion_worker_outlives_a_locked_sqlite_database(site_sandbox, processes, figures):
    ids = list(range(4300, 4310))
    seed(site_sandbox, ids)
    # A short busy timeout, so a lock held for 8 s outlasts it again and again (the drain's write, then the
    # worker's record of the failed task: that second one escaped django-tasks-db's loop).
    env = site_env(site_sandbox, FUSION_HEARTBEAT_SECONDS=0.5, SQLITE_BUSY_TIMEOUT=0.5)
    worker = processes.fusion_worker(env)
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    # Ontraport answers slowly, so the lock is taken while the worker is inside its batch (claimed).
    site_sandbox.fault(delay_ms=3000, count=1, endpoint="GET /Contacts")
    for contact_id in ids:
        DeliveryFactory(action="add", contact_id=contact_id)
    enqueue_drain_in_database()
    wait_until(
        lambda: site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) >= 1,
        timeout=30,
        what="the worker to be fetching its batch",
    )
    locker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # the write lock, as another writer holding it too long would
        time.sleep(8)
        assert worker.poll() is None, processes.logs()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    wait_until(all_finished, timeout=60, what=lambda: f"every delivery to finish\n{processes.logs()}")
    assert worker.poll() is None
    assert_each_applied_once(ids)
    assert "database unavailable (OperationalError: database is locked)" in processes.logs()
    figures.record("fusion_worker through a locked SQLite database", sent=len(ids))
