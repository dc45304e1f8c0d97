"""Counting the edge's answers on the request path: an in-memory add, written out every few seconds (by
webhooks.edge, after the answer is sent)."""

from django.http import HttpResponse

from fusion_site.telemetry.counters import counter_add

# The counter each endpoint's answers go to, and the name of the label its handler sets (webhooks.edge).
COUNTED = {
    "webhook": ("fusion_webhooks_received", "action"),
    "events": ("fusion_events_received", "event"),
}


def request_counted(*, endpoint: str, label: str, answer: HttpResponse) -> None:
    counter, label_name = COUNTED[endpoint]
    counter_add(counter, {label_name: label, "answer": answer.status_code})
