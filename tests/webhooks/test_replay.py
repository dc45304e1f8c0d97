"""webhooks.services.replay: which deliveries go back in the queue, how they are reset, and the worker's
wake-up."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tests.support.factories import DeliveryFactory
from webhooks.models import Delivery
from webhooks.selectors import deliveries_replayable
from webhooks.services.replay import deliveries_replay

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def test_replay_fetches_the_contact_again_and_applies_it(site_sandbox, webhook):
    webhook("add", 4)
    user = User.objects.get(contact_id=4)
    delivery = Delivery.objects.get(contact_id=4)
    site_sandbox.add_contact(
        {**site_sandbox.get_contact(4), "lastname": "Williams-Park", "contact_cat": "*/*4*/*"}
    )
    calls_before = site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0)

    assert deliveries_replay(queryset=Delivery.objects.filter(pk=delivery.pk), by="ops") == 1

    user.refresh_from_db()
    delivery.refresh_from_db()
    assert user.last_name == "Williams-Park"
    assert list(user.tags.values_list("name", flat=True)) == ["VIP"]
    assert (delivery.status, delivery.user_id) == ("done", user.pk)
    assert User.objects.filter(contact_id=4).count() == 1  # add replayed: never a duplicate
    assert site_sandbox.stats()["by_endpoint"].get("GET /Contacts", 0) == calls_before + 1


def test_replay_resets_the_delivery_and_wakes_the_worker_only_after_commit(site_sandbox, monkeypatch):
    woken: list[bool] = []
    monkeypatch.setattr("webhooks.tasks.wake_worker", lambda: woken.append(True))
    gave_up = DeliveryFactory(
        failed=True,
        reason="gave_up",
        message="gave up after 8 attempts",
        attempts=8,
        claimed_by="old-worker",
        finished_at=timezone.now(),
        next_attempt_at=timezone.now() - datetime.timedelta(days=1),
    )

    with transaction.atomic():
        assert deliveries_replay(queryset=Delivery.objects.all(), by="alice") == 1
        assert woken == []  # the worker must not look before the rows are committed

    assert woken == [True]
    gave_up.refresh_from_db()
    assert (gave_up.status, gave_up.reason, gave_up.message) == ("pending", "", "replayed by alice")
    assert (gave_up.attempts, gave_up.claimed_by, gave_up.finished_at) == (0, "", None)
    assert gave_up.next_attempt_at <= timezone.now()
    assert Delivery.objects.ready().filter(pk=gave_up.pk).exists()


def test_only_finished_deliveries_of_real_actions_with_a_contact_are_replayable(monkeypatch):
    woken: list[bool] = []
    monkeypatch.setattr("webhooks.tasks.wake_worker", lambda: woken.append(True))
    later = timezone.now() + datetime.timedelta(hours=1)
    eligible = {
        DeliveryFactory(action="add", done=True).pk,
        DeliveryFactory(action="update", failed=True).pk,
        DeliveryFactory(action="update_tags", done=True).pk,
    }
    DeliveryFactory(action="update", next_attempt_at=later)
    DeliveryFactory(action="update", processing=True, lease_expires_at=later)
    DeliveryFactory(action="test", contact_id=None, done=True)
    DeliveryFactory(action="invalid", contact_id=None, rejected=True)
    DeliveryFactory(action="update", contact_id=None, rejected=True)

    assert (
        set(deliveries_replayable(queryset=Delivery.objects.all()).values_list("pk", flat=True)) == eligible
    )
    assert deliveries_replay(queryset=Delivery.objects.all(), by="bob") == 3
    assert set(Delivery.objects.filter(message="replayed by bob").values_list("pk", flat=True)) == eligible
    assert woken == [True]


def test_nothing_to_replay_wakes_nobody(monkeypatch):
    woken: list[bool] = []
    monkeypatch.setattr("webhooks.tasks.wake_worker", lambda: woken.append(True))
    DeliveryFactory(action="test", contact_id=None, done=True)

    assert deliveries_replay(queryset=Delivery.objects.all(), by="carol") == 0
    assert woken == []


def test_a_failing_wake_up_does_not_undo_the_replay(monkeypatch, caplog):
    def broken_wake_up() -> None:
        raise RuntimeError("task queue unavailable")

    monkeypatch.setattr("webhooks.tasks.wake_worker", broken_wake_up)
    delivery = DeliveryFactory(failed=True, reason="not_found")

    assert deliveries_replay(queryset=Delivery.objects.all(), by="dave") == 1

    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert "task queue unavailable" in caplog.text
