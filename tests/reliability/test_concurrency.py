"""Races: many webhooks for one contact at once, two contacts sharing an e-mail, interleaved actions.

Two kinds of concurrency: a multi-threaded live server whose requests each drain the queue inline
(ImmediateBackend: real concurrent processing inside the web process), and several `db_worker` processes
draining a shared queue (the database backend: real concurrent workers). Both run on SQLite and PostgreSQL;
on PostgreSQL they are truly parallel.
"""

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model

from ontraport_client.contact import parse_tag_ids
from tests.support.factories import DeliveryFactory
from tests.support.processes import enqueue_drain_in_database, site_env
from tests.support.waiting import wait_until
from tests.support.webhooks import send_webhook
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


def fire_at_once(base_url: str, calls: list[dict[str, object]]) -> Counter[int]:
    """Send every webhook in `calls` from its own thread, released together; count the answers."""
    barrier = threading.Barrier(len(calls))

    def send(params: dict[str, object]) -> int:
        barrier.wait(timeout=30)
        return send_webhook(base_url, str(params["wpf_action"]), params["contact_id"], timeout=60).status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(send, calls))


def same_email_contacts(sandbox) -> tuple[int, int]:
    sandbox.add_contacts(
        [
            {"id": "4101", "firstname": "Twin", "lastname": "One", "email": "twin@example.com"},
            {"id": "4102", "firstname": "Twin", "lastname": "Two", "email": "TWIN@example.com"},
        ]
    )
    return 4101, 4102


def assert_one_user_for_the_shared_email(first: int, second: int) -> None:
    user = User.objects.get(email__iexact="twin@example.com")
    assert user.contact_id in (first, second)
    loser = second if user.contact_id == first else first
    assert not User.objects.filter(contact_id=loser).exists()
    for delivery in Delivery.objects.filter(contact_id=user.contact_id):
        assert (delivery.status, delivery.user_id) == (Delivery.Status.DONE, user.pk)
    for delivery in Delivery.objects.filter(contact_id=loser):
        assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "email_conflict")
        assert "twin@example.com" in delivery.message.lower() and str(user.contact_id) in delivery.message


def assert_user_equals_contact(sandbox, contact_id: int) -> None:
    contact = sandbox.get_contact(contact_id)
    user = User.objects.get(contact_id=contact_id)
    assert (user.first_name, user.last_name, user.email.lower()) == (
        contact["firstname"],
        contact["lastname"],
        contact["email"].lower(),
    )
    assert set(user.tags.values_list("id", flat=True)) == set(parse_tag_ids(contact["contact_cat"] or ""))


@pytest.mark.slow
def test_50_simultaneous_adds_for_one_contact_make_exactly_one_user(site_sandbox, live_site, figures):
    answers = fire_at_once(live_site.url, [{"wpf_action": "add", "contact_id": 3}] * 50)

    assert answers == Counter({202: 50})
    user = User.objects.get(contact_id=3)
    assert User.objects.count() == 1
    assert Delivery.objects.count() == 50
    assert set(Delivery.objects.values_list("status", "user_id")) == {(Delivery.Status.DONE, user.pk)}
    figures.record("50 simultaneous adds, one contact (live server)", sent=50, answers=answers)


@pytest.mark.slow
def test_two_contacts_with_one_email_added_at_once_make_one_user(site_sandbox, live_site, figures):
    first, second = same_email_contacts(site_sandbox)
    calls = [{"wpf_action": "add", "contact_id": contact_id} for contact_id in (first, second)] * 5
    answers = fire_at_once(live_site.url, calls)

    assert answers == Counter({202: 10})
    assert_one_user_for_the_shared_email(first, second)
    figures.record("two contacts, one e-mail, at once (live server)", sent=10, answers=answers)


@pytest.mark.slow
def test_interleaved_update_update_tags_and_add_leave_each_user_equal_to_its_contact(
    site_sandbox, live_site, figures
):
    ids = [1, 2, 3, 5, 6, 7]
    # The users exist with the contacts' old details; then Ontraport changes every contact.
    send_webhook(live_site.url, "test", timeout=10)
    for contact_id in ids:
        DeliveryFactory(action="add", contact_id=contact_id)
    from webhooks.tasks import process_deliveries

    process_deliveries.call()
    for contact_id in ids:
        contact = site_sandbox.get_contact(contact_id)
        site_sandbox.add_contact(
            {
                **contact,
                "firstname": f"New{contact_id}",
                "lastname": contact["lastname"] + "-Renamed",
                "contact_cat": f"*/*{contact_id % 3 + 1}*/*8*/*",
            }
        )
    rng = random.Random(5)
    calls = [
        {"wpf_action": action, "contact_id": contact_id}
        for contact_id in ids
        for action in ("update", "update_tags", "add", "update", "update_tags")
    ]
    rng.shuffle(calls)
    answers = fire_at_once(live_site.url, calls)

    assert answers == Counter({202: len(calls)})
    assert not Delivery.objects.exclude(status=Delivery.Status.DONE).exists()
    assert User.objects.count() == len(ids)
    for contact_id in ids:
        assert_user_equals_contact(site_sandbox, contact_id)
    figures.record(
        "interleaved update/update_tags/add (live server)", sent=len(calls) + len(ids) + 1, answers=answers
    )


@pytest.mark.slow
def test_several_workers_draining_one_queue_apply_every_delivery_once(site_sandbox, processes, figures):
    """3 db_worker processes, small batches: the same contact's deliveries land in different workers."""
    first, second = same_email_contacts(site_sandbox)
    site_sandbox.add_contacts(
        [
            {"id": str(i), "firstname": "W", "lastname": str(i), "email": f"w{i}@example.com"}
            for i in range(4200, 4220)
        ]
    )
    rng = random.Random(7)
    plan = [("add", 3)] * 30 + [("add", first), ("add", second)] * 3
    plan += [(action, i) for i in range(4200, 4220) for action in ("add", "update", "update_tags")]
    rng.shuffle(plan)
    for action, contact_id in plan:
        DeliveryFactory(action=action, contact_id=contact_id)
    env = site_env(site_sandbox, FUSION_BATCH_SIZE=3)
    for n in range(3):
        processes.worker(env, name=f"worker{n}")
        enqueue_drain_in_database()

    wait_until(
        lambda: not Delivery.objects.filter(status__in=("pending", "processing")).exists(),
        timeout=90,
        what=lambda: f"the workers to drain the queue\n{processes.logs()}",
    )
    assert User.objects.filter(contact_id=3).count() == 1
    assert_one_user_for_the_shared_email(first, second)
    assert set(Delivery.objects.filter(contact_id=3).values_list("status", flat=True)) == {"done"}
    for contact_id in range(4200, 4220):
        assert_user_equals_contact(site_sandbox, contact_id)
    figures.record("3 db_workers, shared queue", sent=len(plan))
