"""Each way a call can fail becomes the right typed error, with status and excerpt, never the key."""

from __future__ import annotations

import pytest

from ontraport_client import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    OntraportClient,
    OntraportError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from ontraport_client.testing import unused_port

NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def client(make_ontraport) -> OntraportClient:
    """A client that never retries, so each fault shows as raised."""
    return make_ontraport(retry=NO_RETRY)


def test_wrong_credentials_raise_authentication_error(sandbox, make_ontraport):
    client = make_ontraport(api_key="not-the-key")

    with pytest.raises(AuthenticationError) as caught:
        client.get_contact(1)

    assert caught.value.status == 401
    assert caught.value.body_excerpt == "Your App ID and API Key do not authenticate."
    assert not caught.value.transient
    assert client.calls_made == 1  # never retried, even with the default policy


def test_403_is_an_authentication_error_too(sandbox, client):
    sandbox.fault(status=403, body="No permission")

    with pytest.raises(AuthenticationError) as caught:
        client.list_tags()

    assert (caught.value.status, caught.value.body_excerpt) == (403, "No permission")


def test_404_is_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.get_contact(4242)

    assert caught.value.status == 404
    assert "GET Contact: HTTP 404: Object not found" in str(caught.value)


def test_429_is_rate_limited_with_the_reset(sandbox, client):
    sandbox.fault(status=429, body="You have exceeded your maximum rate limit of 180 requests per minute.")

    with pytest.raises(RateLimitedError) as caught:
        client.get_contact(1)

    assert caught.value.status == 429
    assert caught.value.transient
    assert caught.value.reset_seconds == 0.0  # the fault carries no rate-limit headers
    assert "maximum rate limit" in caught.value.body_excerpt


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_a_server_error(sandbox, client, status):
    sandbox.fault(status=status)

    with pytest.raises(ServerError) as caught:
        client.get_contacts([1, 2])

    assert caught.value.status == status
    assert caught.value.transient
    assert caught.value.body_excerpt == f"Injected fault: HTTP {status}"


@pytest.mark.parametrize("status", [400, 409, 422])
def test_other_non_2xx_are_api_errors(sandbox, client, status):
    sandbox.fault(status=status, body="Invalid email address")

    with pytest.raises(ApiError) as caught:
        client.update_contact(1, {"email": "nope"})

    assert caught.value.status == status
    assert not caught.value.transient


def test_a_sandbox_400_is_an_api_error(client):
    with pytest.raises(ApiError) as caught:
        client.create_tag("Members")  # the name exists already

    assert caught.value.status == 400
    assert "already exists" in caught.value.body_excerpt


def test_code_other_than_0_is_an_api_error(sandbox, client):
    sandbox.fault(status=200, body='{"code": 1, "data": "Something went wrong", "account_id": 12345}')

    with pytest.raises(ApiError) as caught:
        client.get_contact(1)

    assert caught.value.status == 200
    assert "code 1" in str(caught.value)
    assert "Something went wrong" in caught.value.body_excerpt


def test_timeout_is_a_transport_error(sandbox, make_ontraport):
    sandbox.fault(delay_ms=500)
    client = make_ontraport(retry=NO_RETRY, timeout=0.1)

    with pytest.raises(TransportError) as caught:
        client.get_contact(1)

    assert caught.value.status is None
    assert "no answer within 0.1s" in str(caught.value)
    assert caught.value.transient


def test_refused_connection_is_a_transport_error():
    client = OntraportClient("app", "key", f"http://127.0.0.1:{unused_port()}/1/", retry=NO_RETRY)

    with pytest.raises(TransportError) as caught:
        client.get_contact(1)

    assert caught.value.status is None
    assert "ConnectionError" in str(caught.value)


def test_malformed_json_is_a_transport_error(sandbox, client):
    sandbox.fault(malformed=True)

    with pytest.raises(TransportError) as caught:
        client.get_contacts([1])

    assert caught.value.status == 200
    assert "not JSON" in str(caught.value)
    assert caught.value.body_excerpt.startswith('{"code":0,"data":[{"id":"1"')


def test_html_answer_is_a_transport_error(sandbox, client):
    sandbox.fault(html=True)

    with pytest.raises(TransportError) as caught:
        client.list_tags()

    assert caught.value.status == 200
    assert "text/html" in str(caught.value)
    assert caught.value.body_excerpt.startswith("<html>")


def test_html_error_page_keeps_its_status_type(sandbox, client):
    sandbox.fault(html=True, status=502)

    with pytest.raises(ServerError) as caught:
        client.list_tags()

    assert caught.value.status == 502


@pytest.mark.parametrize(
    "body",
    [
        '{"data": []}',  # no "code"
        "[1, 2]",  # not an object
        '"just a string"',
    ],
)
def test_json_that_is_not_the_envelope_is_a_transport_error(sandbox, client, body):
    sandbox.fault(status=200, body=body)

    with pytest.raises(TransportError, match="not Ontraport's envelope"):
        client.get_contact(1)


@pytest.mark.parametrize(
    ("call", "data"),
    [
        (lambda c: c.get_contacts([1]), '{"id": "1"}'),  # an object where a list belongs
        (lambda c: c.get_contacts([1]), '["1", "2"]'),
        (lambda c: c.get_contact(1), '"a string"'),
        (lambda c: c.list_tags(), '[{"tag_id": "x", "tag_name": "Bad"}]'),
        (lambda c: c.create_tag("X"), '{"id": "3"}'),
        (lambda c: c.contact_fields(), '{"0": {"name": "Contact"}}'),
        (lambda c: c.find_contact_ids_by_email("a@b.c"), '{"ids": ["ten"]}'),
        (lambda c: c.find_contact_ids_by_email("a@b.c"), '{"ids": "10"}'),
        (lambda c: list(c.contacts_with_tag(1)), '[{"id": null}]'),
    ],
)
def test_unexpected_data_is_a_transport_error(sandbox, client, call, data):
    sandbox.fault(status=200, body=f'{{"code": 0, "data": {data}, "account_id": 1}}')

    with pytest.raises(TransportError, match="unexpected data"):
        call(client)


@pytest.mark.parametrize("bad_id", ["null", '"ten"', '"0"', '"99999999999999999999"'])
def test_a_contact_record_without_a_usable_id_is_skipped_not_the_whole_answer(sandbox, client, bad_id):
    """One unusable record must not cost the other 49 contacts of a call their answer: the id asked for is
    then absent, as for a contact that does not exist."""
    rows = f'[{{"id": {bad_id}, "firstname": "Bad"}}, {{"id": "2", "email": "ok@example.com"}}]'
    sandbox.fault(status=200, body=f'{{"code": 0, "data": {rows}, "account_id": 1}}')

    contacts = client.get_contacts([1, 2])

    assert list(contacts) == [2]
    assert contacts[2].email == "ok@example.com"


def test_empty_data_for_a_contact_reads_as_not_found(sandbox, client):
    sandbox.fault(status=200, body='{"code": 0, "data": [], "account_id": 1}')

    with pytest.raises(NotFoundError):
        client.get_contact(1)


def test_body_excerpt_is_at_most_200_characters(sandbox, client):
    sandbox.fault(status=500, body="x" * 5000)

    with pytest.raises(ServerError) as caught:
        client.get_contact(1)

    assert len(caught.value.body_excerpt) == 200
    assert len(str(caught.value)) < 300


def test_every_error_is_an_ontraport_error():
    for error_type in (
        AuthenticationError,
        NotFoundError,
        RateLimitedError,
        ServerError,
        ApiError,
        TransportError,
    ):
        assert issubclass(error_type, OntraportError)
    assert [t.transient for t in (RateLimitedError, ServerError, TransportError)] == [True, True, True]
    assert [t.transient for t in (AuthenticationError, NotFoundError, ApiError, OntraportError)] == [
        False
    ] * 4


class TestCredentialsNeverShow:
    KEY = "sk-live-7f3a9c1e5b"

    def test_not_in_the_client_repr(self):
        client = OntraportClient("app-1", self.KEY)

        assert self.KEY not in repr(client)
        assert "app-1" in repr(client)

    def test_not_in_an_authentication_error(self, sandbox, make_ontraport):
        client = make_ontraport(api_key=self.KEY)

        with pytest.raises(AuthenticationError) as caught:
            client.get_contact(1)

        self.assert_absent(caught.value)

    def test_not_in_a_transport_error(self):
        client = OntraportClient("app", self.KEY, f"http://127.0.0.1:{unused_port()}/1/", retry=NO_RETRY)

        with pytest.raises(TransportError) as caught:
            client.get_contact(1)

        self.assert_absent(caught.value)

    def test_redacted_when_an_answer_echoes_it(self, http_recorder):
        http_recorder.status = 500
        http_recorder.body = f"Bad gateway. Request headers: Api-Key: {self.KEY}".encode()
        client = OntraportClient("app", self.KEY, http_recorder.url + "/1/", retry=NO_RETRY)

        with pytest.raises(ServerError) as caught:
            client.get_contact(1)

        self.assert_absent(caught.value)
        assert "Api-Key: [api key]" in caught.value.body_excerpt

    def assert_absent(self, error: OntraportError) -> None:
        for text in (str(error), repr(error), error.body_excerpt, repr(error.args)):
            assert self.KEY not in text
