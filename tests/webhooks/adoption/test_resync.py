"""`manage.py ontraport_resync`: linked users brought in step with their contacts (the update rules)."""

import json
import math
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.support.factories import UserFactory
from webhooks.adoption.models import Run
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def _run(command: str, *args: str) -> dict:
    out = StringIO()
    call_command(command, *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def members(bulk_sandbox):
    """The demo's seven members imported (users linked to contacts 1, 2, 3, 5, 7, 9, 11)."""
    _run("ontraport_import", "--tag", "Members")
    return bulk_sandbox


def test_resync_all_updates_what_changed_and_logs_only_that(members):
    members.add_contact(
        {
            "id": 2,
            "firstname": "Liam",
            "lastname": "Renamed",
            "email": "liam.chen@example.com",
            "contact_cat": "*/*1*/*3*/*",
        }
    )

    summary = _run("ontraport_resync", "--all")

    assert (summary["updated"], summary["unchanged"], summary["processed"]) == (1, 6, 7)
    assert User.objects.get(contact_id=2).last_name == "Renamed"
    run = Run.objects.get(kind="resync")
    logged = Delivery.objects.filter(run=run)
    assert [(d.contact_id, d.source, d.status) for d in logged] == [(2, "resync", "done")]


def test_resync_by_user_and_by_tag(members):
    members.add_contact(
        {
            "id": 9,
            "firstname": "Priya",
            "lastname": "Changed",
            "email": "priya.sharma@example.in",
            "contact_cat": "*/*1*/*3*/*7*/*",
        }
    )

    by_email = _run(
        "ontraport_resync", "--user", "PRIYA.SHARMA@example.in", str(User.objects.get(contact_id=1).pk)
    )
    assert (by_email["processed"], by_email["updated"]) == (2, 1)
    by_tag = _run("ontraport_resync", "--tag", "VIP")  # users 3 and 11 hold VIP on the site
    assert (by_tag["processed"], by_tag["unchanged"]) == (2, 2)


def test_a_deleted_contact_is_skipped_with_the_reason(members):
    members.delete_contact(5)

    summary = _run("ontraport_resync", "--all")

    assert summary["skipped"] == 1
    logged = Delivery.objects.get(source="resync")
    assert (logged.contact_id, logged.status, logged.reason) == (5, "failed", "contact_deleted")


def test_resync_of_unchanged_users_costs_one_call_per_50_and_writes_no_user_row(
    bulk_sandbox, tagged_contacts
):
    tagged_contacts(110)
    _run("ontraport_import", "--tag", "Members")  # 117 users
    before = bulk_sandbox.stats()["requests"]

    with CaptureQueriesContext(connection) as queries:
        summary = _run("ontraport_resync", "--all")

    assert summary["unchanged"] == 117
    assert bulk_sandbox.stats()["requests"] - before == math.ceil(117 / 50)
    user_table = User._meta.db_table
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(("UPDATE", "INSERT", "DELETE")) and user_table in q["sql"]
    ]
    assert writes == []


def test_resync_answers_clearly_for_unknown_or_unlinked_users(members):
    UserFactory(username="loner", email="loner@example.com")
    with pytest.raises(CommandError, match=r"No user 'ghost@example\.com'"):
        call_command("ontraport_resync", "--user", "ghost@example.com")
    with pytest.raises(CommandError, match="not linked"):
        call_command("ontraport_resync", "--user", "loner@example.com")
    with pytest.raises(CommandError):
        call_command("ontraport_resync")  # one of --tag, --user, --all is required


def test_resync_finds_a_user_by_the_one_normalised_email_never_a_look_alike(members):
    UserFactory(username="kelly", email="kelly@example.com", contact_id=99)
    call_command("ontraport_resync", "--user", "KELLY@Example.com", "--dry-run", stdout=StringIO())  # found
    for look_alike in ("\u212aelly@example.com", "kelly@ex\u0430mple.com", "kel\u200bly@example.com"):
        with pytest.raises(CommandError, match="No user"):
            call_command("ontraport_resync", "--user", look_alike, "--dry-run")
    with pytest.raises(CommandError, match="No user"):
        call_command("ontraport_resync", "--user", "\u00b2", "--dry-run")  # a digit to str.isdigit only


def test_resync_dry_run_writes_nothing(members):
    members.add_contact(
        {
            "id": 2,
            "firstname": "Liam",
            "lastname": "Renamed",
            "email": "liam.chen@example.com",
            "contact_cat": "*/*1*/*3*/*",
        }
    )
    runs_before = Run.objects.count()

    summary = _run("ontraport_resync", "--all", "--dry-run")

    assert summary["updated"] == 1
    assert User.objects.get(contact_id=2).last_name == "Chen"
    assert Run.objects.count() == runs_before


def test_a_merged_contact_relinks_its_user_to_the_survivor(members):
    # A duplicate of Liam without an e-mail absorbs contact 2 (and takes its e-mail): his user follows it.
    survivor = int(members.add_contact({"firstname": "Liam", "lastname": "Chen"})["id"])
    members.merge_contacts(into=survivor, merged=2)
    liam = User.objects.get(contact_id=2)

    summary = _run("ontraport_resync", "--all")

    liam.refresh_from_db()
    assert liam.contact_id == survivor
    assert summary["linked"] == 1
    assert Delivery.objects.get(source="resync").user_id == liam.pk
