"""Which address a request counts as (the wrong-key throttle, the stored source_ip) behind a proxy, and a
wrong key counted while the database is away."""

import pytest
from django.test import RequestFactory

from webhooks.source_address import request_source_ip


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ([], "127.0.0.1", "203.0.113.5", "127.0.0.1"),  # no proxy trusted: the peer, whatever XFF says
        (["127.0.0.1"], "127.0.0.1", "203.0.113.5", "203.0.113.5"),
        (["127.0.0.1"], "198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not from the proxy: XFF ignored
        # A client's own X-Forwarded-For entries (left) prove nothing: the nearest untrusted one counts.
        (["10.0.0.0/8"], "10.0.0.2", "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1"),
    ],
)
def test_the_address_that_counts(settings, trusted, peer, forwarded, expected):
    settings.FUSION_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert request_source_ip(request) == expected


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_wrong_key_while_the_database_is_unreachable_is_a_403_not_a_500(client, access_key, monkeypatch):
    from django.db import OperationalError

    def unreachable(source):
        raise OperationalError("connection refused")

    monkeypatch.setattr("webhooks.services.throttle._count_in_database", unreachable)
    response = client.get("/?wpf_action=test&access_key=wrong")
    assert (response.status_code, response.json()["reason"]) == (403, "invalid_access_key")
