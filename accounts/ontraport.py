"""The one place the site builds its Ontraport client from settings."""

from functools import cache

from django.conf import settings

from ontraport_client import OntraportClient, Pacer, RetryPolicy


@cache
def ontraport_client() -> OntraportClient:
    """One client (one HTTP session, one pacer) per process.

    The client itself retries only what is cheap to retry in place: a 429 waits for the rate-limit reset
    (rate limiting must never fail a delivery) and a 5xx or timeout is tried a second time. Longer outages
    are retried durably by the webhooks worker (Delivery.next_attempt_at), so a worker is never stuck.
    """
    return OntraportClient(
        app_id=settings.ONTRAPORT_APP_ID,
        api_key=settings.ONTRAPORT_API_KEY,
        base_url=settings.ONTRAPORT_API_URL,
        timeout=settings.ONTRAPORT_TIMEOUT,
        retry=RetryPolicy(max_attempts=settings.ONTRAPORT_CLIENT_ATTEMPTS, base_delay=0.5, max_delay=2.0),
        pacer=Pacer(reserve=settings.ONTRAPORT_RATE_RESERVE),
    )


@cache
def ontraport_bulk_client() -> OntraportClient:
    """The client of imports, resyncs and sweeps: its pacer holds back FUSION_BULK_RESERVE calls.

    Ontraport reports the account's remaining budget on every answer, whoever spent it, so bulk work that
    waits while that number is at or below the reserve leaves the last calls of each minute to webhooks
    (and to every other app sharing the account).
    """
    return OntraportClient(
        app_id=settings.ONTRAPORT_APP_ID,
        api_key=settings.ONTRAPORT_API_KEY,
        base_url=settings.ONTRAPORT_API_URL,
        timeout=settings.ONTRAPORT_TIMEOUT,
        retry=RetryPolicy(
            max_attempts=max(settings.ONTRAPORT_CLIENT_ATTEMPTS, 3), base_delay=1.0, max_delay=10.0
        ),
        pacer=Pacer(reserve=settings.FUSION_BULK_RESERVE),
    )
