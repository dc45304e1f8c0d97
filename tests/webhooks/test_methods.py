"""Every method Ontraport's "Send a Webhook" element offers (GET, POST, PUT, PATCH, DELETE) is a webhook:
parameters from the query string first, then the body (form or JSON); applied exactly like a GET. And a URL
with the key but no wpf_action is a clear, recorded 400, not the page at that path answering 200."""

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()
BODY_METHODS = ["post", "put", "patch", "delete"]


def applied(response) -> Delivery:
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.status == Delivery.Status.DONE, delivery.message
    return delivery


@pytest.mark.parametrize("method", ["get", *BODY_METHODS])
def test_every_method_with_the_query_string_is_applied_like_a_get(site_sandbox, client, access_key, method):
    query = urlencode({"wpf_action": "add", "access_key": access_key, "contact_id": 1, "role": "subscriber"})
    delivery = applied(getattr(client, method)(f"/?{query}"))
    assert (delivery.method, delivery.action, delivery.contact_id) == (method.upper(), "add", 1)
    user = User.objects.get(contact_id=1)
    assert (user.email, list(user.groups.values_list("name", flat=True))) == (
        "dana.adams@example.com",
        ["subscriber"],
    )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_form_body_is_read_for_every_method(site_sandbox, client, access_key, method):
    body = urlencode({"wpf_action": "update_tags", "access_key": access_key, "contact_id": 2})
    response = getattr(client, method)(
        "/any/page/", data=body, content_type="application/x-www-form-urlencoded"
    )
    delivery = applied(response)
    assert (delivery.action, delivery.contact_id) == ("update_tags", 2)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_json_body_is_read_for_every_method(site_sandbox, client, access_key, method):
    body = json.dumps({"wpf_action": "add", "access_key": access_key, "contact_id": 3})
    delivery = applied(getattr(client, method)("/", data=body, content_type="application/json"))
    assert (delivery.action, delivery.contact_id) == ("add", 3)
    assert User.objects.filter(contact_id=3).count() == 1


@pytest.mark.parametrize("method", BODY_METHODS)
def test_the_query_string_comes_before_the_body(site_sandbox, client, access_key, method):
    query = urlencode({"wpf_action": "add", "access_key": access_key, "contact_id": 1})
    body = urlencode({"wpf_action": "update_tags", "contact_id": 2})
    response = getattr(client, method)(
        f"/?{query}", data=body, content_type="application/x-www-form-urlencoded"
    )
    delivery = applied(response)
    assert (delivery.action, delivery.contact_id) == ("add", 1)


def test_a_put_with_a_file_part_is_refused_like_a_post(site_sandbox, client, access_key):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="wpf_action"\r\n\r\nadd\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\nxx\r\n'
        f"--{boundary}--\r\n"
    )
    response = client.put(
        f"/?access_key={access_key}&contact_id=1",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert (response.status_code, response.json()["reason"]) == (400, "files_not_accepted")
    assert Delivery.objects.get().status == Delivery.Status.REJECTED
    assert User.objects.count() == 0


@pytest.mark.parametrize("method", ["options", "head", "trace"])
def test_methods_the_element_does_not_offer_are_405(site_sandbox, client, access_key, method):
    response = getattr(client, method)(
        f"/webhooks/ontraport/?wpf_action=add&access_key={access_key}&contact_id=1"
    )
    assert response.status_code == 405
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("path", ["/", "/any/page/", "/webhooks/ontraport/"])
def test_a_url_with_the_key_but_no_action_is_a_recorded_400(site_sandbox, client, access_key, path):
    response = client.get(f"{path}?access_key={access_key}&contact_id=1")
    assert (response.status_code, response.json()["reason"]) == (400, "missing_action")
    delivery = Delivery.objects.get()  # in the owner's log, with the reason
    assert (delivery.status, delivery.reason) == (Delivery.Status.REJECTED, "missing_action")
    assert access_key not in delivery.path
    assert User.objects.count() == 0


def test_a_url_with_a_wrong_key_and_no_action_is_a_403_and_stores_nothing(site_sandbox, client, access_key):
    response = client.get("/?access_key=not-the-key")
    assert (response.status_code, response.json()["reason"]) == (403, "invalid_access_key")
    assert Delivery.objects.count() == 0


def test_the_home_page_without_a_key_is_still_the_home_page(site_sandbox, client, access_key):
    assert client.get("/").status_code == 200
    assert Delivery.objects.count() == 0
