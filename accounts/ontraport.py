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
