"""Webhooks first: may bulk work spend an Ontraport call now?"""

from ontraport_client import OntraportClient


def bulk_wait_seconds(client: OntraportClient) -> float:
    """Seconds until the bulk client's pacer would let a call through (0: now).

    The pacer would sleep that long itself; a worker must not (webhook drains wait behind it), so the
    background task asks first and comes back later instead."""
    pacer = client.pacer
    state = pacer.store.load()
    if state.remaining is None or state.reset_at is None:
        return 0.0
    now = pacer.clock()
    if state.reset_at <= now or state.remaining > pacer.reserve:
        return 0.0
    return state.reset_at - now
