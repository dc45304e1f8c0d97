"""Both ways, with the real processes: the site's change goes out through the real `fusion_worker`, an
Ontraport rule answers it with a webhook to the real web process (gunicorn), and the exchange ends there:
the echo changes nothing and costs its one fetch. A worker killed while its tag call is in flight loses
nothing and duplicates nothing (docs/sync.md)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from django.db import transaction

from accounts.models import OutboxChange, User
from accounts.services.outbox import contact_push, user_tags_apply
from ontraport_client.contact import parse_tag_ids
from ontraport_client.testing import unused_port
from tests.support.admin_clients import change_form_data
from tests.support.factories import TagFactory, UserFactory
from tests.support.processes import site_env
from tests.support.waiting import wait_until
from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery
from webhooks.telemetry.models import WorkerHeartbeat

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def site(site_sandbox: Any, database_tasks: None) -> Any:
    """The sandbox's tags known by name, and this process's changes woken for the real worker (a task row)
    instead of being sent inline."""
    for tag_id, name in site_sandbox_tags(site_sandbox):
        TagFactory(id=tag_id, name=name)
    return site_sandbox


def site_sandbox_tags(sandbox: Any) -> list[tuple[int, str]]:
    from accounts.ontraport import ontraport_client

    return [(tag.id, tag.name) for tag in ontraport_client().list_tags()]


def contact_tags(sandbox: Any, contact_id: int) -> frozenset[int]:
    return parse_tag_ids(sandbox.get_contact(contact_id)["contact_cat"])


def calls(sandbox: Any, endpoint: str) -> int:
    return int(sandbox.stats()["by_endpoint"].get(endpoint, 0))


def echo_rule(sandbox: Any, *, port: int, tag_id: int) -> None:
    """Ontraport's rule "contact added to tag → ping the site", the way site owners set WP Fusion up."""
    url = f"http://127.0.0.1:{port}/?wpf_action=update_tags&access_key={ACCESS_KEY}&contact_id=[Contact ID]"
    sandbox.add_rule(on="sub_tag", tag_id=tag_id, url=url, method="get")


def test_a_tag_applied_by_code_reaches_ontraport_and_its_echo_ends_the_exchange(site, processes):
    port = unused_port()
    env = site_env(site, FUSION_HEARTBEAT_SECONDS=0.5)
    processes.web(env, port)
    processes.fusion_worker(env)
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1, tags=[1, 2])
    echo_rule(site, port=port, tag_id=4)
    fetches_before = calls(site, "GET /Contacts")

    with transaction.atomic():
        user_tags_apply(user=dana, tags=["VIP"])

    change = wait_until(
        lambda: OutboxChange.objects.filter(status="sent").first(),
        timeout=30,
        what=lambda: f"the change to be sent\n{processes.logs()}",
    )
    assert change.contact_id == 1 and "added tags 4" in change.message
    assert contact_tags(site, 1) == {1, 2, 4}
    # The rule pinged the site; the worker fetched the contact once and found the user already so.
    echo = wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.DONE).first(),
        timeout=30,
        what=lambda: f"the echo to be applied\n{processes.logs()}",
    )
    assert (echo.action, echo.contact_id) == ("update_tags", 1)
    assert echo.message.startswith("no change to user dana"), echo.message
    time.sleep(3)  # two tails of the worker's drain: room for anything the echo might have started
    assert site.rules()[0]["sent"] == 1 and site.rules()[0]["last_code"] == 202
    assert calls(site, "PUT /objects/tag") == 1
    assert calls(site, "GET /Contacts") - fetches_before == 1
    assert Delivery.objects.count() == 1 and OutboxChange.objects.count() == 1
    assert set(dana.tags.values_list("id", flat=True)) == {1, 2, 4}


def test_a_sign_up_and_a_profile_edit_reach_ontraport_through_the_worker(site, processes, settings):
    settings.FUSION_PUSH_NEW_USERS = True
    env = site_env(site, FUSION_HEARTBEAT_SECONDS=0.5, FUSION_PUSH_NEW_USERS="true")
    processes.fusion_worker(env)
    with transaction.atomic():  # a sign-up: the user is made on the site, with no contact
        # Made as the site's sign-up makes it (not by a factory): this creation is what goes out.
        zoe = User.objects.create(username="zoe", email="zoe@example.com", first_name="Zoe")
    wait_until(
        lambda: User.objects.get(pk=zoe.pk).contact_id,
        timeout=30,
        what=lambda: f"zoe's contact\n{processes.logs()}",
    )
    zoe.refresh_from_db()
    assert zoe.contact_id is not None
    assert site.get_contact(zoe.contact_id)["firstname"] == "Zoe"

    zoe.last_name = "Quinn"
    zoe.save(update_fields=["last_name"])
    with transaction.atomic():
        contact_push(user=zoe)
    wait_until(
        lambda: OutboxChange.objects.filter(status="sent").count() == 2,
        timeout=30,
        what=lambda: f"the profile push\n{processes.logs()}",
    )
    assert site.get_contact(zoe.contact_id)["lastname"] == "Quinn"


def test_a_worker_killed_mid_send_loses_and_duplicates_nothing(site, processes):
    port = unused_port()
    env = site_env(site, FUSION_HEARTBEAT_SECONDS=0.5, FUSION_LEASE_SECONDS=3)
    processes.web(env, port)
    worker = processes.fusion_worker(env, name="first_worker")
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1, tags=[1, 2])
    echo_rule(site, port=port, tag_id=4)
    # Ontraport carries the call out at once and answers late: the worker dies between the two.
    site.fault(delay_ms=5000, count=1, endpoint="PUT /objects/tag")

    with transaction.atomic():
        user_tags_apply(user=dana, tags=[4])
    wait_until(lambda: calls(site, "PUT /objects/tag") >= 1, timeout=30, what="the tag call to be sent")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    change = OutboxChange.objects.get()
    assert change.status == "sending"  # taken, sent, never recorded: the lease is all that is left

    processes.fusion_worker(env, name="second_worker")
    change = wait_until(
        lambda: OutboxChange.objects.filter(status="sent").first(),
        timeout=60,
        what=lambda: f"the change to be sent again\n{processes.logs()}",
    )
    assert change.attempts == 2 and OutboxChange.objects.count() == 1
    assert contact_tags(site, 1) == {1, 2, 4}
    assert calls(site, "PUT /objects/tag") == 2  # sent again: the second changed nothing in Ontraport
    wait_until(
        lambda: Delivery.objects.filter(status=Delivery.Status.DONE).exists(),
        timeout=30,
        what=lambda: f"the echo of the first send\n{processes.logs()}",
    )
    assert site.rules()[0]["sent"] == 1  # one change in Ontraport, so one echo
    assert Delivery.objects.count() == 1


def test_a_tag_edited_in_the_admin_reaches_ontraport_through_the_worker(site, processes, admin):
    processes.fusion_worker(site_env(site, FUSION_HEARTBEAT_SECONDS=0.5))
    wait_until(WorkerHeartbeat.objects.exists, timeout=30, what="the worker's first heartbeat")
    dana = UserFactory(username="dana", email="dana.adams@example.com", contact_id=1, tags=[1, 2])

    response = admin.post(
        f"/admin/accounts/user/{dana.pk}/change/", change_form_data(admin, dana, tags=["1", "5"])
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    wait_until(
        lambda: OutboxChange.objects.filter(status="sent").exists(),
        timeout=30,
        what=lambda: f"the admin's edit to be sent\n{processes.logs()}",
    )
    assert contact_tags(site, 1) == {1, 5}
