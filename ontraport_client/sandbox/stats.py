"""Counts of the Ontraport API requests the sandbox received (control requests are not counted)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

# How many API requests `calls()` remembers (the newest): enough for a burst bench, bounded for a sandbox
# left running.
CALLS_KEPT = 10_000


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self.clear()

    def clear(self) -> None:
        with self._lock:
            # A request still being answered (held by a delay fault) when the stats are cleared belongs to
            # the time before: its answer must not count after the reset.
            self._generation += 1
            self._requests = 0
            self._by_endpoint: Counter[str] = Counter()
            self._by_status: Counter[str] = Counter()
            # Bytes of the answers' bodies, by endpoint: what a client received (benches print it per
            # contact, to show what listFields saves on accounts with many custom fields).
            self._bytes_by_endpoint: Counter[str] = Counter()
            self._rate_limited = 0
            self._faults_applied = 0
            self._calls: deque[tuple[float, str]] = deque(maxlen=CALLS_KEPT)

    def received(self, endpoint: str) -> int:
        """Counted on arrival, so a request whose answer is still delayed by a fault already shows.
        Returns the token to pass to `answered`."""
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] += 1
            self._calls.append((time.time(), endpoint))
            return self._generation

    def calls(self) -> list[dict[str, Any]]:
        """The newest API requests (at most CALLS_KEPT), oldest first: when each arrived (Unix time) and
        its endpoint. Benches draw from it how a rate-limit window was spent."""
        with self._lock:
            return [{"at": at, "endpoint": endpoint} for at, endpoint in self._calls]

    def answered(
        self,
        status: int,
        *,
        faulted: bool = False,
        token: int | None = None,
        endpoint: str = "",
        body_bytes: int = 0,
    ) -> None:
        with self._lock:
            if token is not None and token != self._generation:
                return
            self._by_status[str(status)] += 1
            if endpoint:
                self._bytes_by_endpoint[endpoint] += body_bytes
            self._rate_limited += status == 429
            self._faults_applied += faulted

    def snapshot(self) -> dict[str, Any]:
        """``requests``: every API request received, whatever the answer (401, 429 and faults included);
        ``by_status``: the answers sent so far; ``rate_limited``: how many were answered 429;
        ``bytes_by_endpoint``: the bytes of the answers' bodies."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_endpoint": dict(self._by_endpoint),
                "by_status": dict(self._by_status),
                "bytes_by_endpoint": dict(self._bytes_by_endpoint),
                "rate_limited": self._rate_limited,
                "faults_applied": self._faults_applied,
            }
