"""Faults to inject into the next API requests: an error status, a delay, a broken or HTML answer.

``{"status": 500, "count": 3}`` answers the next three requests with a plain-text 500;
``{"delay_ms": 3000}`` holds the next answer back three seconds (then answers normally);
``{"malformed": true}`` sends a cut-off JSON body; ``{"html": true}`` an HTML page (status 200 unless
``status`` is given). ``"endpoint": "GET /Contacts"`` restricts a fault to one endpoint. Faults queue
up in the order they were added; each request takes the first one that applies.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

KNOWN_KEYS = frozenset({"status", "count", "delay_ms", "malformed", "html", "body", "endpoint"})


@dataclass
class Fault:
    remaining: int
    status: int | None = None
    delay_ms: int = 0
    malformed: bool = False
    html: bool = False
    body: str | None = None
    endpoint: str | None = None  # "GET /Contacts"; None for every endpoint

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Fault:
        if not isinstance(spec, Mapping):
            raise ValueError("a fault must be a JSON object")
        unknown = set(spec) - KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        count = spec.get("count", 1)
        delay_ms = spec.get("delay_ms", 0)
        if not isinstance(count, int) or count < 1 or not isinstance(delay_ms, int) or delay_ms < 0:
            raise ValueError("count must be >= 1 and delay_ms >= 0 (integers)")
        fault = cls(
            remaining=count,
            status=status,
            delay_ms=delay_ms,
            malformed=bool(spec.get("malformed", False)),
            html=bool(spec.get("html", False)),
            body=None if spec.get("body") is None else str(spec["body"]),
            endpoint=None if spec.get("endpoint") is None else str(spec["endpoint"]),
        )
        if not (fault.status or fault.delay_ms or fault.malformed or fault.html):
            raise ValueError("a fault needs status, delay_ms, malformed or html")
        return fault

    def applies_to(self, endpoint: str) -> bool:
        return self.endpoint is None or self.endpoint.casefold() == endpoint.casefold()


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = Fault.from_spec(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, endpoint: str) -> Fault | None:
        """The fault for this request, if any, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(endpoint):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
