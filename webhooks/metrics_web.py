"""Counting webhooks on the request path: an in-memory add, written out at most every few seconds."""

from fusion_site.telemetry.counters import counter_add, counters_flush_if_due


def webhook_counted(*, action: str, answer: int) -> None:
    counter_add("fusion_webhooks_received", {"action": action, "answer": answer})
    counters_flush_if_due()
