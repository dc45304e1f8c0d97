"""Retries (429, 5xx, timeouts) and pacing by the rate-limit headers, on a fake clock: no real waits.

The rate-limit tests run their own sandbox whose window runs on the same fake clock as the client's
pacer, so "waiting 60 seconds" moves both at once.
"""

from __future__ import annotations

import itertools

import pytest
import requests

from ontraport_client import (
    OntraportClient,
    Pacer,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from ontraport_client.sandbox import SandboxControl, SandboxServer
from ontraport_client.testing import FakeClock, unused_port


def strictly_increasing(values: list[float]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


class TestServerErrorRetries:
    def test_recovers_after_three_500s_with_growing_waits(self, sandbox, ontraport, fake_clock):
        sandbox.fault(status=500, count=3)

        assert ontraport.get_contact(2).first_name == "Liam"

        assert ontraport.calls_made == 4
        assert sandbox.stats()["by_status"] == {"500": 3, "200": 1}
        assert len(fake_clock.sleeps) == 3
        assert strictly_increasing(fake_clock.sleeps)
        # 0.5 s doubling, plus up to 50 % jitter
        for n, wait in enumerate(fake_clock.sleeps):
            assert 0.5 * 2**n <= wait <= 0.75 * 2**n

    def test_gives_up_after_max_attempts_and_raises_the_last_error(self, sandbox, ontraport, fake_clock):
        sandbox.fault(status=503, count=10)

        with pytest.raises(ServerError) as caught:
            ontraport.get_contact(2)

        assert caught.value.status == 503
        assert ontraport.calls_made == 5
        assert sandbox.stats()["requests"] == 5
        assert len(fake_clock.sleeps) == 4
        assert strictly_increasing(fake_clock.sleeps)

    def test_max_attempts_1_never_retries_nor_waits(self, sandbox, make_ontraport, fake_clock):
        sandbox.fault(status=500, count=2)
        client = make_ontraport(retry=RetryPolicy(max_attempts=1))

        for _ in range(2):
            with pytest.raises(ServerError):
                client.get_contact(2)

        assert client.get_contact(2).id == 2  # the client stays usable after a raised error
        assert client.calls_made == 3
        assert sandbox.stats()["requests"] == 3
        assert fake_clock.sleeps == []

    def test_waits_are_capped_by_max_delay(self, sandbox, make_ontraport, fake_clock):
        sandbox.fault(status=500, count=5)
        client = make_ontraport(retry=RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=3.0, jitter=0.0))

        client.get_contact(1)

        assert fake_clock.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]

    def test_client_errors_are_not_retried(self, sandbox, ontraport, fake_clock):
        sandbox.fault(status=422, count=3)

        with pytest.raises(Exception, match="422"):
            ontraport.update_contact(1, {"email": "not-an-email"})

        assert ontraport.calls_made == 1
        assert fake_clock.sleeps == []


class TestTransportRetries:
    def test_timeout_then_success(self, sandbox, make_ontraport, fake_clock):
        sandbox.fault(delay_ms=400)
        client = make_ontraport(timeout=0.1)

        assert client.get_contact(1).first_name == "Dana"

        assert client.calls_made == 2
        assert len(fake_clock.sleeps) == 1

    def test_malformed_then_html_then_success(self, sandbox, ontraport, fake_clock):
        sandbox.fault(malformed=True)
        sandbox.fault(html=True)

        assert sorted(ontraport.get_contacts([1, 2])) == [1, 2]

        assert ontraport.calls_made == 3
        assert strictly_increasing(fake_clock.sleeps)

    def test_refused_connections_are_retried_then_raised(self, fake_clock):
        client = OntraportClient(
            "app",
            "key",
            f"http://127.0.0.1:{unused_port()}/1/",
            pacer=Pacer(clock=fake_clock, sleep=fake_clock.sleep),
            retry=RetryPolicy(max_attempts=3),
        )

        with pytest.raises(TransportError):
            client.list_tags()

        assert client.calls_made == 3
        assert len(fake_clock.sleeps) == 2
        assert strictly_increasing(fake_clock.sleeps)


def limited_client(server: SandboxServer, clock: FakeClock, **overrides) -> OntraportClient:
    options = {"pacer": Pacer(clock=clock, sleep=clock.sleep), "retry": RetryPolicy()} | overrides
    return OntraportClient(server.app_id, server.api_key, server.url, timeout=5.0, **options)


def spend_window(server: SandboxServer, requests_count: int) -> None:
    """Use up the window from outside the client under test (another process on the same account)."""
    headers = {"Api-Appid": server.app_id, "Api-Key": server.api_key}
    for _ in range(requests_count):
        assert requests.get(server.url + "Tags", headers=headers, timeout=5).status_code == 200


class TestPacing:
    def test_waits_for_the_reset_instead_of_collecting_a_429(self, limited_sandbox, fake_clock):
        client = limited_client(limited_sandbox, fake_clock)

        for contact_id in (1, 2, 3):
            client.get_contact(contact_id)
        assert fake_clock.sleeps == []  # remaining went 2, 1, 0

        assert client.get_contact(4).first_name == "Noah"

        assert fake_clock.sleeps == [60.0]
        stats = limited_sandbox.control().stats()
        assert stats["rate_limited"] == 0
        assert stats["requests"] == 4

    def test_reserve_keeps_requests_back(self, limited_sandbox, fake_clock):
        client = limited_client(
            limited_sandbox, fake_clock, pacer=Pacer(fake_clock, fake_clock.sleep, reserve=1)
        )

        client.get_contact(1)
        client.get_contact(2)  # remaining is now 1 == reserve
        client.get_contact(3)

        assert fake_clock.sleeps == [60.0]
        assert limited_sandbox.control().stats()["rate_limited"] == 0

    def test_would_wait_says_so_at_the_reserve_and_spends_nothing(self, limited_sandbox, fake_clock):
        pacer = Pacer(fake_clock, fake_clock.sleep, reserve=1)
        client = limited_client(limited_sandbox, fake_clock, pacer=pacer)
        assert not pacer.would_wait()  # nothing known yet: a request goes
        client.get_contact(1)
        assert not pacer.would_wait()  # remaining 2
        client.get_contact(2)  # remaining is now 1 == reserve
        assert pacer.would_wait() and pacer.would_wait()  # asking twice spends nothing
        assert pacer.state().remaining == 1
        fake_clock.sleep(60)
        assert not pacer.would_wait()  # the window moved on
        assert fake_clock.sleeps == [60]

    def test_no_wait_once_the_reset_has_passed(self, limited_sandbox, fake_clock):
        client = limited_client(limited_sandbox, fake_clock)
        for contact_id in (1, 2, 3):
            client.get_contact(contact_id)

        fake_clock.advance(61)  # time spent elsewhere
        client.get_contact(4)

        assert fake_clock.sleeps == []


class TestRateLimitRetries:
    def test_429_waits_the_reset_then_retries(self, limited_sandbox, fake_clock):
        spend_window(limited_sandbox, 3)
        fake_clock.advance(15)  # the window now frees up in 45 s
        client = limited_client(limited_sandbox, fake_clock)

        assert client.get_contact(5).first_name == "Amara"

        assert fake_clock.sleeps == [45.0]
        assert client.calls_made == 2
        assert limited_sandbox.control().stats()["rate_limited"] == 1

    def test_no_retry_policy_raises_with_the_reset(self, limited_sandbox, fake_clock):
        spend_window(limited_sandbox, 3)
        client = limited_client(limited_sandbox, fake_clock, retry=RetryPolicy(max_attempts=1))

        with pytest.raises(RateLimitedError) as caught:
            client.get_contact(5)

        assert caught.value.reset_seconds == 60.0
        assert "maximum rate limit of 3 requests per minute" in caught.value.body_excerpt
        assert fake_clock.sleeps == []

    def test_retry_rate_limited_false_raises_at_once(self, limited_sandbox, fake_clock):
        spend_window(limited_sandbox, 3)
        client = limited_client(limited_sandbox, fake_clock, retry=RetryPolicy(retry_rate_limited=False))

        with pytest.raises(RateLimitedError):
            client.get_contact(5)

        assert client.calls_made == 1
        assert fake_clock.sleeps == []

    def test_a_reset_longer_than_max_rate_limit_wait_is_raised(self, limited_sandbox, fake_clock):
        spend_window(limited_sandbox, 3)
        client = limited_client(limited_sandbox, fake_clock, retry=RetryPolicy(max_rate_limit_wait=30))

        with pytest.raises(RateLimitedError) as caught:
            client.get_contact(5)

        assert caught.value.reset_seconds == 60.0
        assert fake_clock.sleeps == []

    def test_the_control_api_is_never_rate_limited(self, limited_sandbox):
        spend_window(limited_sandbox, 3)
        control = SandboxControl(limited_sandbox.control_url)

        for _ in range(5):
            control.stats()

        assert control.stats()["requests"] == 3
