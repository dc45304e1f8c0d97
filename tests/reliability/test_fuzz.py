"""Property-based fuzzing of the endpoint: whatever arrives, never a 500, and never a change to any user
(nor a stored delivery) without the right key."""

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.webhooks import ACCESS_KEY
from webhooks.models import Delivery
from webhooks.services.throttle import wrong_keys_forget

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
User = get_user_model()

NAMES = ["wpf_action", "access_key", "contact_id", "role", "send_notification", "email", "access%5Fkey", "x"]
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["add", "update", "update_tags", "test", "ADD", "1", "2", "0", "-1", "1.5", "", "\x00"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
params = st.dictionaries(st.sampled_from(NAMES), texts, max_size=7)
key_choice = st.sampled_from(["right", "wrong", "missing", "near"])
methods = st.sampled_from(["get", "post-form", "post-json", "post-raw"])
paths = st.sampled_from(["/", "/webhooks/ontraport/", "/a/page/", "/admin/"])


def user_table() -> list[tuple]:
    return list(User.objects.order_by("pk").values_list())


def send(client: Client, method: str, path: str, values: dict[str, str], raw: bytes):
    if method == "get":
        return client.get(path + "?" + urlencode(values))
    if method == "post-form":
        return client.post(path, data=urlencode(values), content_type="application/x-www-form-urlencoded")
    if method == "post-json":
        return client.post(path + "?wpf_action=add", data=json.dumps(values), content_type="application/json")
    return client.post(path + "?" + urlencode(values), data=raw, content_type="application/json")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=params, key=key_choice, method=methods, path=paths, raw=st.binary(max_size=200))
def test_fuzzed_webhooks_never_500_and_never_change_users_without_the_key(
    site_sandbox, access_key, values, key, method, path, raw
):
    if not User.objects.filter(contact_id=1).exists():
        Client().get(f"/?wpf_action=add&contact_id=1&access_key={ACCESS_KEY}")
    wrong_keys_forget()  # the throttle would otherwise turn every later wrong key into a 429
    values = dict(values)
    values.pop("access_key", None)
    values.pop("access%5Fkey", None)
    if key == "right":
        values["access_key"] = ACCESS_KEY
    elif key == "wrong":
        values["access_key"] = "not-the-key"
    elif key == "near":
        values["access_key"] = ACCESS_KEY.upper()
    before, stored = user_table(), Delivery.objects.count()

    response = send(Client(raise_request_exception=False), method, path, values, raw)

    assert response.status_code < 500, (response.status_code, response.content[:300])
    if key != "right":
        assert user_table() == before
        assert Delivery.objects.count() == stored
