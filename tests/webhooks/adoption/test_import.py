"""`manage.py ontraport_import`: users for every contact holding a tag, with the add rules."""

import json
import math

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Tag, User
from tests.support.factories import GroupFactory, StaffFactory, UserFactory
from webhooks.adoption.models import Run
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

# The demo data's "Members" (tag 1): contacts 1, 2, 3, 5, 7, 9 and 11, all with an e-mail address.
MEMBERS = {1, 2, 3, 5, 7, 9, 11}


def _import(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("ontraport_import", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_creates_a_user_per_member_and_a_second_run_creates_nothing(bulk_sandbox):
    first = _import("--tag", "Members")

    assert set(User.objects.values_list("contact_id", flat=True)) == MEMBERS
    assert (first["created"], first["skipped"], first["processed"], first["total"]) == (7, 0, 7, 7)
    second = _import("--tag", "members")  # names are matched whatever their case
    assert (second["created"], second["unchanged"]) == (0, 7)
    assert User.objects.count() == 7
    runs = list(Run.objects.order_by("id"))
    assert [(r.kind, r.state, r.started_from, r.created) for r in runs] == [
        ("import", "done", "command", 7),
        ("import", "done", "command", 0),
    ]
    # The first run logged what it created; the second changed nothing, so it logged nothing.
    assert Delivery.objects.filter(run=runs[0], source="import", status="done").count() == 7
    assert not Delivery.objects.filter(run=runs[1]).exists()


def test_an_import_costs_one_call_per_50_contacts_plus_the_count(bulk_sandbox, tagged_contacts):
    tagged_contacts(120, tag_id=3)  # Newsletter: 3 demo contacts + 120 = 123
    call_command("ontraport_import", "--tag", "3", "--json")  # warm-up: creates the users
    before = bulk_sandbox.stats()["requests"]

    summary = _import("--tag", "3")

    calls = bulk_sandbox.stats()["requests"] - before
    assert summary["unchanged"] == 123
    assert calls == summary["ontraport_calls"] <= math.ceil(123 / 50) + 3


def test_a_contact_without_email_is_skipped_with_the_reason(bulk_sandbox):
    contact = bulk_sandbox.add_contact({"firstname": "No", "lastname": "Mail", "contact_cat": "*/*1*/*"})

    summary = _import("--tag", "Members")

    assert (summary["created"], summary["skipped"]) == (7, 1)
    logged = Delivery.objects.get(contact_id=int(contact["id"]))
    assert (logged.status, logged.reason, logged.source) == ("failed", "no_email", "import")
    assert not User.objects.filter(contact_id=int(contact["id"])).exists()


def test_an_existing_user_is_linked_by_email_never_duplicated(bulk_sandbox):
    user = UserFactory(username="dana", email="Dana.Adams@example.com")

    summary = _import("--tag", "Members")

    user.refresh_from_db()
    assert user.contact_id == 1
    assert (summary["linked"], summary["created"]) == (1, 6)
    assert User.objects.filter(email__iexact="dana.adams@example.com").count() == 1


def test_dry_run_writes_nothing_and_reports_what_would_happen(bulk_sandbox):
    assert not Tag.objects.exists()  # the site knows no tag name yet: "Members" is looked up in Ontraport

    summary = _import("--tag", "Members", "--dry-run")

    assert (summary["dry_run"], summary["created"], summary["processed"]) == (True, 7, 7)
    assert not User.objects.exists()
    assert not Run.objects.exists()
    assert not Delivery.objects.exists()
    assert not Tag.objects.exists()  # nothing at all, tag names included


def test_an_account_that_ignores_the_paging_condition_still_imports_everyone(bulk_sandbox, tagged_contacts):
    tagged_contacts(53)  # 60 members with the demo's 7
    bulk_sandbox.behave(ignore_condition=True)  # "ids above the last" answered as if not asked

    summary = _import("--tag", "Members")

    assert (summary["state"], summary["processed"], summary["total"], summary["created"]) == (
        "done",
        60,
        60,
        60,
    )
    assert User.objects.count() == 60
    run = Run.objects.get()
    assert run.paging_offset == 60  # it went on by offset, resumable from there
    # One page spent noticing (page 2 repeated page 1), still within ceil(N/50) + 3.
    assert summary["ontraport_calls"] <= math.ceil(60 / 50) + 3


def test_an_account_that_ignores_condition_and_offset_fails_saying_why(bulk_sandbox, tagged_contacts):
    tagged_contacts(53)
    bulk_sandbox.behave(ignore_condition=True)
    first_page = _objects_tag_page(bulk_sandbox, start=0)
    bulk_sandbox.fault(
        status=200, body='{"code":0,"data":{"count":"60"},"account_id":1}', endpoint="GET /objects/tag"
    )
    bulk_sandbox.fault(
        status=200, body=first_page, endpoint="GET /objects/tag", count=10
    )  # any start: page 1

    with pytest.raises(CommandError, match="ignores both the id condition and the offset"):
        _import("--tag", "Members")

    run = Run.objects.get()
    assert (run.state, run.processed, run.total) == ("failed", 50, 60)
    assert "50 contact(s) were imported" in run.message


def test_a_run_whose_pages_end_before_the_count_is_not_done(bulk_sandbox, tagged_contacts):
    from accounts.ontraport import ontraport_bulk_client
    from webhooks.adoption.leases import run_claim
    from webhooks.adoption.pages import RunShort
    from webhooks.adoption.runs import run_count_total, run_start, run_work
    from webhooks.telemetry.process_id import process_id_new

    count_of_99 = _count(99)
    client = ontraport_bulk_client()
    owner = process_id_new()
    run = run_claim(
        run_id=run_start(kind=Run.Kind.IMPORT, arguments={"tag_id": 1}, started_from="command").pk,
        owner=owner,
    )
    bulk_sandbox.fault(status=200, body=count_of_99, endpoint="GET /objects/tag")
    run_count_total(run=run, client=client)

    def recount_says_99_again(run, page):
        if page.last:
            bulk_sandbox.fault(status=200, body=count_of_99, endpoint="GET /objects/tag")

    with pytest.raises(RunShort, match=r"counts 99 contact\(s\) with tag 1 but its pages brought 7"):
        run_work(run=run, client=client, owner=owner, on_page=recount_says_99_again)


def test_a_count_met_again_after_contacts_left_the_tag_is_done(bulk_sandbox):
    bulk_sandbox.fault(
        status=200, body='{"code":0,"data":{"count":"9"},"account_id":1}', endpoint="GET /objects/tag"
    )

    summary = _import("--tag", "Members")  # counted 9; the pages bring 7; counted again: 7

    assert (summary["state"], summary["processed"], summary["total"]) == ("done", 7, 7)


def _count(number: int) -> str:
    """Ontraport's answer to objects/tag?count=true."""
    return json.dumps({"code": 0, "data": {"count": str(number)}, "account_id": 1})


def _objects_tag_page(sandbox, *, start: int) -> str:
    import requests

    params = {"objectID": 0, "tag_id": 1, "start": start, "range": 50}
    headers = {"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key}
    return requests.get(f"{sandbox.url}objects/tag", params=params, headers=headers, timeout=5).text


def test_limit_stops_after_that_many_contacts_and_role_is_given(bulk_sandbox):
    GroupFactory(name="customer")
    summary = _import("--tag", "Members", "--limit", "3", "--role", "customer")

    assert summary["processed"] == 3
    users = User.objects.order_by("contact_id")
    assert list(users.values_list("contact_id", flat=True)) == [1, 2, 3]
    assert all(list(u.groups.values_list("name", flat=True)) == ["customer"] for u in users)


def test_an_unknown_tag_or_role_gets_a_clear_answer(bulk_sandbox):
    with pytest.raises(CommandError, match="no tag named 'Nope'"):
        call_command("ontraport_import", "--tag", "Nope")
    with pytest.raises(CommandError, match="role 'ghost' does not exist"):
        call_command("ontraport_import", "--tag", "Members", "--role", "ghost")
    assert not Run.objects.exists()
    assert not User.objects.exists()


def test_the_progress_bar_and_summary_are_printed(bulk_sandbox, capsys):
    call_command("ontraport_import", "--tag", "Members")

    captured = capsys.readouterr()
    assert "created 7" in captured.out
    assert "import" in captured.err and "7/7" in captured.err


def test_a_staff_account_with_a_members_email_is_never_linked(bulk_sandbox):
    staff = StaffFactory(username="boss", email="dana.adams@example.com")

    summary = _import("--tag", "Members")

    staff.refresh_from_db()
    assert staff.contact_id is None
    assert summary["created"] == 6
    assert User.objects.filter(email__iexact="dana.adams@example.com").count() == 1


def test_a_long_import_lists_tags_at_most_once(bulk_sandbox, tagged_contacts, settings):
    settings.FUSION_TAG_REFRESH_SECONDS = 0  # as if every page came after the refresh interval
    tagged_contacts(200)
    before = bulk_sandbox.stats()["by_endpoint"].get("GET /Tags", 0)

    summary = _import("--tag", "1")

    assert summary["created"] == 207
    assert bulk_sandbox.stats()["by_endpoint"].get("GET /Tags", 0) - before <= 1
    assert summary["ontraport_calls"] <= math.ceil(207 / 50) + 3


def test_a_finished_import_is_counted_in_metrics(bulk_sandbox, client, settings):
    from tests.support.metrics import samples
    from webhooks.telemetry.counters import counters_flush

    settings.FUSION_METRICS_ALLOWED_IPS = ["127.0.0.1"]
    key = ("fusion_bulk_runs_total", frozenset({("kind", "import"), ("outcome", "done")}))
    before = samples(client.get("/metrics")).get(key, 0)

    _import("--tag", "Members")
    counters_flush()

    assert samples(client.get("/metrics")).get(key, 0) == before + 1


def test_a_wait_for_the_rate_limit_is_shown_while_it_lasts():
    """The progress bar stood still, silent, while the pacer waited for Ontraport's budget: every wait of
    the client's pacer now reaches the bar first (and the pacer's own sleep is put back afterwards)."""
    from ontraport_client.pacing import Pacer
    from webhooks.adoption.foreground import waiting_text, waits_shown

    slept: list[float] = []
    shown: list[float] = []
    pacer = Pacer(sleep=slept.append)
    with waits_shown(pacer, shown.append):
        pacer.sleep(42.0)
        pacer.sleep(0.2)  # a blink: not worth a line
    pacer.sleep(5.0)
    assert shown == [42.0]
    assert slept == [42.0, 0.2, 5.0]
    assert waiting_text(42.0) == "waiting 42 s for Ontraport's rate limit (calls are kept for webhooks)"


def test_the_progress_bar_says_so_while_the_import_waits_for_the_rate_limit(bulk_sandbox, settings, capsys):
    """A two-second window of two calls, one kept for webhooks: the import must wait between its calls,
    and the bar says why instead of standing still."""
    from accounts.ontraport import ontraport_bulk_client

    bulk_sandbox.reset(rate_limit=2, window=2)
    settings.ONTRAPORT_RATE_WINDOW = 2
    settings.FUSION_BULK_RESERVE = 1
    ontraport_bulk_client.cache_clear()

    call_command("ontraport_import", "--tag", "1")

    err = capsys.readouterr().err
    assert "for Ontraport's rate limit (calls are kept for webhooks)" in err
    assert User.objects.filter(contact_id__isnull=False).count() == 7
