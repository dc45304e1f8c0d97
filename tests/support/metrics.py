"""Reading /metrics as Prometheus does."""

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def samples(response: Any) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics answer: {(name, frozenset of its labels): value}."""
    text = response.content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
