"""The endpoint's answers: every status it can give, what it stores, and what it never lets out."""

import json
import logging

import pytest
from django.contrib.auth import get_user_model

from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()


@pytest.mark.parametrize("method", ["get", "post-form", "post-json"])
def test_add_creates_the_user_from_the_contact(site_sandbox, webhook, method):
    response = webhook("add", 1, method=method)

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True
    delivery = Delivery.objects.get(pk=body["delivery_id"])
    assert delivery.status == Delivery.Status.DONE, delivery.message
    user = User.objects.get(contact_id=1)
    assert (user.username, user.first_name, user.last_name) == ("dana.adams@example.com", "Dana", "Adams")
    assert sorted(user.tags.values_list("name", flat=True)) == ["Customers", "Members"]
    assert list(user.groups.values_list("name", flat=True)) == ["subscriber"]
    assert delivery.user_id == user.pk


@pytest.mark.parametrize("path", ["/", "/any/page/of/the/site/", "/webhooks/ontraport/"])
def test_webhooks_are_answered_on_any_path(site_sandbox, webhook, path):
    response = webhook("update_tags", 2, path=path)
    assert response.status_code == 202
    assert Delivery.objects.get().action == "update_tags"


@pytest.mark.parametrize("spelling", ["ADD", "Add", " add "])
def test_action_is_case_insensitive(site_sandbox, webhook, spelling):
    assert webhook(spelling, 1).status_code == 202
    assert Delivery.objects.get().action == "add"


def test_test_action_answers_success(site_sandbox, client):
    response = client.get(f"/?wpf_action=test&access_key={ACCESS_KEY}")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert Delivery.objects.get().status == Delivery.Status.DONE


@pytest.mark.parametrize(
    "key", [None, "", "wrong", ACCESS_KEY.upper(), ACCESS_KEY + "x", ACCESS_KEY[:-1], "k" * 5000]
)
def test_wrong_or_missing_key_is_refused_and_nothing_is_stored(site_sandbox, client, access_key, key, caplog):
    caplog.set_level(logging.DEBUG)
    query = "wpf_action=add&contact_id=1" + (f"&access_key={key}" if key is not None else "")
    response = client.get(f"/?{query}")

    assert response.status_code == 403
    assert response.json()["reason"] == "invalid_access_key"
    assert Delivery.objects.count() == 0
    assert User.objects.count() == 0
    if key:
        assert key not in response.content.decode()
        assert key not in caplog.text


def test_a_repeated_key_with_different_values_is_refused(site_sandbox, client, access_key):
    response = client.get(f"/?wpf_action=add&contact_id=1&access_key={access_key}&access_key=other")
    assert response.status_code == 403
    assert Delivery.objects.count() == 0


def test_previous_key_is_accepted_during_rotation(site_sandbox, client, settings):
    settings.FUSION_ACCESS_KEY = "the-new-key-0123456789abcdef"
    settings.FUSION_PREVIOUS_ACCESS_KEYS = ["the-old-key-0123456789abcdef"]
    for key in ("the-new-key-0123456789abcdef", "the-old-key-0123456789abcdef"):
        assert client.get(f"/?wpf_action=update_tags&contact_id=1&access_key={key}").status_code == 202
    assert client.get("/?wpf_action=update_tags&contact_id=1&access_key=retired").status_code == 403


def test_repeated_wrong_keys_are_throttled_but_the_right_key_still_gets_in(
    site_sandbox, client, access_key, settings
):
    settings.FUSION_BAD_KEY_LIMIT = 3
    from django.core.cache import cache

    cache.clear()
    answers = [client.get("/?wpf_action=add&contact_id=1&access_key=guess").status_code for _ in range(5)]
    assert answers == [403, 403, 403, 429, 429]
    assert client.get(f"/?wpf_action=add&contact_id=1&access_key={access_key}").status_code == 202


@pytest.mark.parametrize(
    ("contact_id", "reason"),
    [
        (None, "missing_contact_id"),
        ("", "missing_contact_id"),
        ("abc", "invalid_contact_id"),
        ("-5", "invalid_contact_id"),
        ("0", "invalid_contact_id"),
        ("1.5", "invalid_contact_id"),
        ("99999999999999999999999", "invalid_contact_id"),
        ("[Contact ID]", "invalid_contact_id"),
        ("１２", "invalid_contact_id"),  # full-width digits
    ],
)
def test_bad_contact_id_is_a_recorded_400(site_sandbox, webhook, contact_id, reason):
    response = webhook("add", contact_id)

    assert response.status_code == 400
    assert response.json()["reason"] == reason
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (Delivery.Status.REJECTED, reason)
    assert ACCESS_KEY not in delivery.path
    assert User.objects.count() == 0


def test_repeated_contact_id_with_different_values_is_a_400(site_sandbox, client, access_key):
    response = client.get(f"/?wpf_action=add&access_key={access_key}&contact_id=1&contact_id=2")
    assert response.status_code == 400
    assert response.json()["reason"] == "ambiguous_parameter"
    assert User.objects.count() == 0


@pytest.mark.parametrize(("action", "reason"), [("delete", "unknown_action"), ("", "missing_action")])
def test_unknown_or_empty_action_is_a_recorded_400(site_sandbox, webhook, action, reason):
    response = webhook(action, 1)
    assert response.status_code == 400
    assert response.json()["reason"] == reason
    assert Delivery.objects.get().status == Delivery.Status.REJECTED


def test_the_stored_path_masks_the_key(site_sandbox, webhook):
    webhook("update_tags", 1, role="customer")
    delivery = Delivery.objects.get()
    assert "access_key=***" in delivery.path
    assert ACCESS_KEY not in delivery.path
    assert ACCESS_KEY not in json.dumps(delivery.options)


def test_a_body_over_the_limit_is_a_413_recorded_when_the_url_key_is_valid(site_sandbox, client, access_key):
    body = "x=" + "a" * (1024 * 1024)
    response = client.post(
        f"/webhooks/ontraport/?access_key={access_key}&contact_id=1",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.json()["reason"]) == (413, "body_too_large")
    delivery = Delivery.objects.get()  # the owner's sender has something to fix: it is in the log
    assert (delivery.status, delivery.reason) == (Delivery.Status.REJECTED, "body_too_large")


def test_invalid_json_body_gets_a_clear_400(site_sandbox, client, access_key):
    response = client.post(
        f"/webhooks/ontraport/?access_key={access_key}&wpf_action=add",
        data="{not json",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_json"
    # The key in the URL was valid: the site owner sees the refusal in the log.
    assert Delivery.objects.get().reason == "invalid_json"


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("", False),
    ],
)
def test_send_notification_spellings(site_sandbox, webhook, spelling, expected, mailoutbox):
    webhook("add", 2, send_notification=spelling)
    assert Delivery.objects.get().send_notification is expected
    assert len(mailoutbox) == (1 if expected else 0)


def test_unicode_and_control_characters_are_stored_as_data(site_sandbox, webhook):
    response = webhook("update_tags", 1, role="ro\x00le\x07<script>é")
    assert response.status_code == 202
    assert Delivery.objects.get().role == "role<script>é"


def test_the_view_is_not_wrapped_in_one_transaction(settings):
    from webhooks.views import ontraport_webhook

    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is False
    assert getattr(ontraport_webhook, "_non_atomic_requests", None)
