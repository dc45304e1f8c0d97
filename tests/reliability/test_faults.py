"""Faults survived: a worker killed mid-batch, the database gone while webhooks arrive, Ontraport failing for
a long stretch, and errors inside processing. Each ends with every accepted delivery applied or failed with
a reason: none lost."""

import os
import signal
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from ontraport_client.testing import unused_port
from tests.support.databases import database_url, tcp_proxy
from tests.support.factories import DeliveryFactory, contact_data
from tests.support.processes import enqueue_drain_in_database, site_env
from tests.support.waiting import wait_until
from tests.support.webhooks import send_webhook
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.PROCESSING)


def task_rows():
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.values_list("status", "run_after", "enqueued_at"))


@pytest.mark.slow
def test_worker_killed_mid_batch_every_delivery_completes_exactly_once(site_sandbox, processes, figures):
    ids = list(range(3000, 3030))
    site_sandbox.add_contacts([contact_data(i, prefix="kill") for i in ids])
    for contact_id in ids:
        DeliveryFactory(action="add", contact_id=contact_id)
    for contact_id in ids[:10]:
        DeliveryFactory(
            action="update_tags", contact_id=contact_id
        )  # duplicates for the same contacts: harmless
    # The first user's Return Password write hangs: the worker has created a user (committed) and is
    # holding a claimed batch whose outcomes it has not recorded yet when it is killed.
    site_sandbox.fault(delay_ms=6000, count=1, endpoint="PUT /Contacts")
    env = site_env(
        site_sandbox, FUSION_LEASE_SECONDS=2, FUSION_BATCH_SIZE=10, FUSION_RETURN_PASSWORD_FIELD="f1536"
    )
    doomed = processes.worker(env, name="doomed")
    enqueue_drain_in_database()

    wait_until(
        lambda: site_sandbox.stats()["by_endpoint"].get("PUT /Contacts", 0) >= 1,
        timeout=30,
        what="the first worker to be inside its batch",
    )
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    held = list(Delivery.objects.filter(status=Delivery.Status.PROCESSING).values_list("pk", flat=True))
    assert held, "the worker was killed holding a claimed batch"
    assert User.objects.count() >= 1

    processes.worker(env, name="rescuer")
    wait_until(
        lambda: not Delivery.objects.filter(status__in=UNFINISHED).exists(),
        timeout=60,
        what=lambda: f"every delivery to finish\n{task_rows()}\n{processes.logs()}",
    )

    deliveries = list(Delivery.objects.all())
    assert {d.status for d in deliveries} == {Delivery.Status.DONE}, [d.message for d in deliveries]
    assert User.objects.filter(contact_id__in=ids).count() == len(ids)
    per_contact = Counter(User.objects.values_list("contact_id", flat=True))
    assert max(per_contact.values()) == 1
    for delivery in deliveries:
        assert delivery.user_id == User.objects.get(contact_id=delivery.contact_id).pk
        # Taken over after the lease: claimed twice, applied once (the user already existed: "updated").
        assert delivery.attempts == (2 if delivery.pk in held else 1)
    figures.record("worker SIGKILL mid-batch", sent=len(deliveries))


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "postgresql", reason="cuts a PostgreSQL connection via a proxy")
def test_database_unreachable_answers_503_then_webhooks_flow_again_without_restart(
    site_sandbox, processes, figures
):
    db = connection.settings_dict
    with tcp_proxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))) as proxy:
        port = unused_port()
        env = site_env(site_sandbox, DATABASE_URL=database_url(host="127.0.0.1", port=proxy.port))
        processes.web(env, port)
        answers: Counter[int] = Counter()

        def send(contact_id, action="add"):
            response = send_webhook(f"http://127.0.0.1:{port}", action, contact_id)
            answers[response.status_code] += 1
            return response

        assert [send(i).status_code for i in (1, 2)] == [202, 202]

        proxy.cut()
        during = [send(i) for i in (3, 4, 5)] + [send(6, action="test"), send("abc")]
        assert [r.status_code for r in during[:4]] == [503] * 4
        for response in during[:4]:
            assert response.json()["reason"] == "database_unavailable"
            assert response.headers["Retry-After"]
        assert during[4].status_code == 400  # malformed is still answered as such; only its record is lost
        assert Delivery.objects.count() == 2  # nothing half-written during the outage

        proxy.restore()
        after = [send(i) for i in (7, 9)]
        assert [r.status_code for r in after] == [202, 202], processes.logs()
        stored = set(Delivery.objects.values_list("contact_id", flat=True))
        assert stored == {1, 2, 7, 9}

    process_deliveries.call()  # the site's worker, in this process, drains what was stored
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DONE}
    assert set(User.objects.values_list("contact_id", flat=True)) == {1, 2, 7, 9}
    figures.record("database unreachable (503)", sent=sum(answers.values()), answers=answers)


OUTAGES = {
    "HTTP 500": {"status": 500},
    "HTTP 502 HTML page": {"status": 502, "html": True},
    "HTTP 503": {"status": 503},
    "malformed JSON": {"malformed": True},
    "HTML maintenance page (200)": {"html": True},
    "timeout": {"delay_ms": 700},
    "wrong credentials (401)": {"status": 401},
}


@pytest.mark.parametrize("kind", list(OUTAGES))
def test_ontraport_failing_for_a_long_stretch_then_everything_completes(
    site_sandbox, settings, kind, figures
):
    settings.FUSION_MAX_ATTEMPTS = 10
    settings.ONTRAPORT_TIMEOUT = 0.3
    from accounts.ontraport import ontraport_client

    ontraport_client.cache_clear()
    ids = [1, 2, 3, 5, 6]
    deliveries = [DeliveryFactory(action="add", contact_id=contact_id) for contact_id in ids]
    deliveries.append(DeliveryFactory(action="update", contact_id=7))
    passes = 4
    site_sandbox.fault(**OUTAGES[kind], count=passes, endpoint="GET /Contacts")

    for attempt in range(1, passes + 1):
        process_deliveries.call()
        for delivery in deliveries:
            delivery.refresh_from_db()
            reason = "ontraport_credentials" if kind.startswith("wrong credentials") else "retrying"
            assert (delivery.status, delivery.reason, delivery.attempts) == ("pending", reason, attempt)
            assert delivery.next_attempt_at > timezone.now()
            if kind.startswith("wrong credentials"):
                assert "credentials" in delivery.message and "not found" not in delivery.message.lower()
        assert User.objects.count() == 0
        Delivery.objects.update(next_attempt_at=timezone.now())  # the retry falls due

    process_deliveries.call()  # Ontraport is back
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DONE}
    assert set(User.objects.values_list("contact_id", flat=True)) == set(ids)
    figures.record(f"Ontraport outage: {kind}", sent=len(deliveries))
    ontraport_client.cache_clear()


def test_wrong_api_credentials_are_reported_as_such_and_recover_when_fixed(site_sandbox, settings, webhook):
    from accounts.ontraport import ontraport_client

    settings.ONTRAPORT_API_KEY = "not-the-key"
    ontraport_client.cache_clear()
    assert webhook("add", 1).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "credentials" in delivery.message
    assert delivery.reason == "ontraport_credentials"
    assert "not-the-key" not in delivery.message

    settings.ONTRAPORT_API_KEY = site_sandbox.api_key
    ontraport_client.cache_clear()
    Delivery.objects.update(next_attempt_at=timezone.now())
    process_deliveries.call()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
    ontraport_client.cache_clear()


def test_an_error_while_processing_never_rolls_back_the_deliverys_record(site_sandbox, webhook, monkeypatch):
    def explode(**kwargs):
        # A write as the product's own would make it (not a factory's): undone by the sync's transaction.
        User.objects.create_user("half-written", "half@example.com")
        raise RuntimeError("boom")

    def atomic_explode(**kwargs):
        from django.db import transaction

        with transaction.atomic():
            explode(**kwargs)

    monkeypatch.setattr("accounts.services.contacts_apply.user_create_from_contact", atomic_explode)
    response = webhook("add", 1)

    assert response.status_code == 202
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert (delivery.status, delivery.reason) == (Delivery.Status.PENDING, "retrying")
    assert "RuntimeError" in delivery.message
    assert not User.objects.filter(username="half-written").exists()


def test_a_failing_wake_up_still_answers_202_and_keeps_the_delivery(site_sandbox, webhook, monkeypatch):
    def broken_wake_up():
        raise ConnectionError("task queue unavailable")

    monkeypatch.setattr("webhooks.tasks.wake_worker", broken_wake_up)
    response = webhook("add", 1)

    assert response.status_code == 202
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.status == Delivery.Status.PENDING
    process_deliveries.call()  # the next drain (tail, retry or next webhook) picks it up
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE
