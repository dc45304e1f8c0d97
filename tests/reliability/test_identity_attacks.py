"""The identity attacks, replayed over HTTP against a running site (a live server whose requests
apply contacts inline), on SQLite and on PostgreSQL. Each must change no account it should not.
docs/reliability.md lists them with their results; docs/identity.md states the rules they test."""

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator

from tests.support.factories import GroupFactory, SuperuserFactory, UserFactory
from tests.support.webhooks import deliver, send_webhook
from webhooks.models import Delivery
from webhooks.tasks import process_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


@pytest.mark.parametrize(
    "look_alike",
    ["\u212aate@example.com", "\uff4bate@example.com", "kate@example.\u212aom", "ka\u200bte@example.com"],
    ids=["kelvin-sign", "full-width", "kelvin-in-domain", "zero-width"],
)
def test_a_look_alike_email_cannot_take_over_kate(site_sandbox, live_site, figures, look_alike):
    kate = UserFactory(username="kate", email="kate@example.com", raw_password="kates-own-password")
    token_before = default_token_generator.make_token(kate)
    site_sandbox.add_contact(
        {"id": "9001", "firstname": "Mallory", "email": look_alike, "contact_cat": "*/*1*/*"}
    )

    first = deliver(live_site.url, "add", 9001)
    site_sandbox.add_contact({"id": "9001", "firstname": "Mallory", "email": "mallory@evil.example"})
    second = deliver(live_site.url, "update", 9001)

    kate.refresh_from_db()
    assert (kate.email, kate.contact_id, kate.first_name) == ("kate@example.com", None, "")
    assert kate.check_password("kates-own-password") and not kate.tags.exists()
    assert default_token_generator.check_token(kate, token_before)  # her account was not touched at all
    assert first.user_id != kate.pk and second.user_id != kate.pk
    figures.record(f"look-alike e-mail {look_alike!r} (live server)", sent=2)


@pytest.mark.parametrize(
    "raw_role",
    ["adm%C4%B1n", "%C5%BFuperuser", "%C5%BFtaff", "adm%C4%B1n%C4%B1strator", "ADMIN", "%E2%80%8Badmin"],
)
def test_a_forbidden_role_is_never_granted_whatever_its_spelling(site_sandbox, live_site, raw_role):
    for name in ("Admin", "superuser", "staff", "administrator"):
        GroupFactory(name=name)

    delivery = deliver(live_site.url, "add", 1, f"&role={raw_role}")

    user = User.objects.get(contact_id=1)
    assert delivery.status == Delivery.Status.DONE
    assert list(user.groups.values_list("name", flat=True)) == ["subscriber"]
    assert not (user.is_staff or user.is_superuser)


def test_a_superusers_email_on_a_contact_does_not_link_the_superuser(site_sandbox, live_site, figures):
    boss = SuperuserFactory(
        username="boss", email="Dana.Adams@example.com", raw_password="boss-password"
    )  # contact 1's e-mail

    delivery = deliver(live_site.url, "add", 1)

    boss.refresh_from_db()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "protected_account")
    assert "link it by hand" in delivery.message
    assert (boss.contact_id, boss.first_name, boss.check_password("boss-password")) == (None, "", True)
    assert not boss.tags.exists()
    assert User.objects.count() == 1
    figures.record("contact with a superuser's e-mail (live server)", sent=1)


def test_one_bad_contact_fails_alone_and_never_wedges_its_batch(
    site_sandbox, live_site, database_tasks, figures
):
    """49 good contacts and one with a 25-digit tag id, plus one with a NUL in its e-mail, in one drain
    (the database task backend: the webhooks are only stored)."""
    good = [
        {"id": str(7000 + i), "email": f"good{i}@example.com", "contact_cat": "*/*1*/*"} for i in range(48)
    ]
    site_sandbox.add_contacts(
        [
            *good,
            {
                "id": "7100",
                "email": "bad-tag@example.com",
                "contact_cat": "*/*1*/*9999999999999999999999999*/*",
            },
            {"id": "7101", "email": "nul\u0000@example.com"},
        ]
    )
    ids = [int(c["id"]) for c in good] + [7100, 7101]
    answers = Counter(send_webhook(live_site.url, "add", contact_id).status_code for contact_id in ids)
    assert answers == Counter({202: 50})

    process_deliveries.call()

    statuses = dict(Delivery.objects.values_list("contact_id", "status"))
    reasons = dict(Delivery.objects.values_list("contact_id", "reason"))
    assert (statuses[7100], reasons[7100]) == ("failed", "invalid_contact_data")
    assert (statuses[7101], reasons[7101]) == ("failed", "invalid_email")
    assert all(statuses[int(c["id"])] == "done" for c in good)
    assert not Delivery.objects.filter(status=Delivery.Status.PROCESSING).exists()
    assert User.objects.count() == 48
    figures.record("one bad contact in a chunk of 50 (live server)", sent=50, answers=answers)


def test_a_merged_contact_relinks_instead_of_conflicting(site_sandbox, live_site):
    """Contact 5 is merged into contact 3 in Ontraport (no webhook); the next webhook for 3 relinks."""
    site_sandbox.add_contact({"id": "3", "firstname": "Old", "email": "merged@example.com"})
    site_sandbox.add_contact({"id": "5", "firstname": "New", "email": "merged@example.com"})
    assert deliver(live_site.url, "add", 5).status == Delivery.Status.DONE
    user = User.objects.get(contact_id=5)

    site_sandbox.merge_contacts(into=3, merged=5)
    delivery = deliver(live_site.url, "update", 3)

    user.refresh_from_db()
    assert (delivery.status, delivery.user_id, user.contact_id) == (Delivery.Status.DONE, user.pk, 3)
    assert "relinked from contact 5" in delivery.message
    assert User.objects.count() == 1
