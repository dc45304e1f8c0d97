"""The one place the site builds its Ontraport client from settings."""

from functools import cache

from django.conf import settings

from accounts.ontraport_budget import budget_clock, budget_store, cache_is_shared
from accounts.selectors import field_mapping_sources
from accounts.signals import ontraport_answered
from ontraport_client import OntraportClient, Pacer, RetryPolicy


@cache
def ontraport_client() -> OntraportClient:
    """One client (one HTTP session, one pacer) per process.

    The client itself retries only what is cheap to retry in place: a 429 waits for the rate-limit reset
    (rate limiting must never fail a delivery) and a 5xx or timeout is tried a second time. Longer outages
    are retried durably by the webhooks worker (Delivery.next_attempt_at), so a worker is never stuck.
    The pacer's budget is shared by every process when CACHE_URL names a shared cache (ontraport_pacer).
    """
    return OntraportClient(
        app_id=settings.ONTRAPORT_APP_ID,
        api_key=settings.ONTRAPORT_API_KEY,
        base_url=settings.ONTRAPORT_API_URL,
        timeout=settings.ONTRAPORT_TIMEOUT,
        retry=RetryPolicy(max_attempts=settings.ONTRAPORT_CLIENT_ATTEMPTS, base_delay=0.5, max_delay=2.0),
        pacer=ontraport_pacer(reserve=settings.ONTRAPORT_RATE_RESERVE),
        on_answer=ontraport_answer_announced,
        contact_fields=field_mapping_sources,  # listFields: ids, e-mail, names, tags and mapped fields
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
        # The same budget as the webhook worker's (shared through the cache when it is shared).
        pacer=ontraport_pacer(reserve=settings.FUSION_BULK_RESERVE),
        on_answer=ontraport_answer_announced,
        contact_fields=field_mapping_sources,  # listFields: ids, e-mail, names, tags and mapped fields
    )


def ontraport_pacer(*, reserve: int, name: str = "ontraport") -> Pacer:
    """A pacer on the account's one budget (see accounts.ontraport_budget); a bulk client passes its own
    `reserve` and the same `name`, so it spends from the same budget."""
    window = settings.ONTRAPORT_RATE_WINDOW
    if cache_is_shared():
        return Pacer(clock=budget_clock, reserve=reserve, store=budget_store(name=name), window=window)
    return Pacer(reserve=reserve, window=window)


def ontraport_answer_announced(what: str, status: int | None) -> None:
    """Announce every Ontraport answer (`what` was called; `status` None: no answer) to whoever counts
    them (webhooks.reporting, for /metrics)."""
    ontraport_answered.send(sender=OntraportClient, what=what, status=status)
