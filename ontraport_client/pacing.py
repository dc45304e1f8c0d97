"""Pacing: stay under Ontraport's rolling rate limit instead of running into 429s.

Every answer carries ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``
(seconds until the window frees up). The pacer remembers the last values; before each request it waits
until the reset when the remaining budget is down to ``reserve`` (keep a few requests back for other
processes sharing the account).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class RateLimitState:
    """What the last answer said about the window. ``None`` means "not known"."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # on the pacer's clock
    # A request went out after the window moved on, to learn what it freed; others wait for its answer.
    probing: bool = False


class RateLimitStateStore(Protocol):
    """Where the pacer keeps its state.

    The default keeps it in memory (one process). A store shared by several processes (a cache: the
    site's ``accounts.ontraport_budget.CacheStateStore``) makes them pace as one; it must then be used
    with a clock all processes share (``time.time``) and give, through a ``locked()`` method (see
    ``SharedStateStore``), a lock all of them respect, so that reading the budget and spending one request
    of it is one step. A store without ``locked()`` is guarded by the pacer's own (per-process) lock.
    """

    def load(self) -> RateLimitState: ...

    def save(self, state: RateLimitState) -> None: ...


class SharedStateStore(RateLimitStateStore, Protocol):
    def locked(self) -> AbstractContextManager[object]: ...


class InMemoryStateStore:
    def __init__(self) -> None:
        self._state = RateLimitState()

    def load(self) -> RateLimitState:
        return self._state

    def save(self, state: RateLimitState) -> None:
        self._state = state


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests gives a case-insensitive mapping, but a plain dict may come from elsewhere.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


class Pacer:
    """Waits before a request when the last answer said the window is used up. Thread-safe, and
    process-safe with a shared store."""

    # How long the others wait for the answer of the request sent to probe a window that moved on, before
    # one of them probes in its place (the prober may have died); they look every PROBE_POLL_SECONDS.
    PROBE_SECONDS = 2.0
    PROBE_POLL_SECONDS = 0.05

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        reserve: int = 0,
        store: RateLimitStateStore | None = None,
    ) -> None:
        if reserve < 0:
            raise ValueError("reserve must be >= 0")
        self.clock = clock
        self._sleep = sleep
        self.reserve = reserve
        self.store: RateLimitStateStore = store if store is not None else InMemoryStateStore()
        self._lock = threading.Lock()

    def _locked(self) -> AbstractContextManager[object]:
        locked = getattr(self.store, "locked", None)
        return locked() if locked is not None else self._lock

    def sleep(self, seconds: float) -> None:
        """Every wait of the client goes through here, so tests can replace it with a recording fake."""
        if seconds > 0:
            self._sleep(seconds)

    def before_request(self) -> float:
        """Wait, if needed, until a request may be sent. Returns the seconds waited."""
        waited = 0.0
        while True:
            wait = self._spend_or_wait()
            if wait <= 0:
                return waited
            # Sleep outside the lock (observe() must not block behind a wait), then look again: others
            # sharing the budget may have spent what the reset freed.
            self.sleep(wait)
            waited += wait

    def _spend_or_wait(self) -> float:
        """Spend one request of the budget and return 0, or return how long to wait before asking again."""
        with self._locked():
            state = self.store.load()
            now = self.clock()
            if state.remaining is None or state.reset_at is None:
                return 0.0
            if state.reset_at <= now:
                # The window has moved on since that answer, freeing an unknown number of requests (with
                # Ontraport's rolling window, often one). This request goes and finds out; the others
                # wait for its answer rather than all spending the same freed request (a 429 each).
                self.store.save(
                    RateLimitState(
                        limit=state.limit, remaining=0, reset_at=now + self.PROBE_SECONDS, probing=True
                    )
                )
                return 0.0
            if state.remaining <= self.reserve:
                # Leave the state alone so others arriving now wait for the same reset.
                wait = state.reset_at - now
                return min(wait, self.PROBE_POLL_SECONDS) if state.probing else wait
            # Spend one request of the budget now, so others sending at the same time do not all count on
            # the same last request. The next answer overwrites this guess.
            self.store.save(replace(state, remaining=state.remaining - 1))
            return 0.0

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record the ``X-Rate-Limit-*`` headers of an answer (any status, 429 included)."""
        limit = _number(_header(headers, "X-Rate-Limit-Limit"))
        remaining = _number(_header(headers, "X-Rate-Limit-Remaining"))
        reset = _number(_header(headers, "X-Rate-Limit-Reset"))
        if limit is None and remaining is None and reset is None:
            return
        with self._locked():
            previous = self.store.load()
            self.store.save(
                RateLimitState(
                    limit=int(limit) if limit is not None else previous.limit,
                    remaining=int(remaining) if remaining is not None else None,
                    reset_at=self.clock() + reset if reset is not None else None,
                )
            )

    def state(self) -> RateLimitState:
        """The budget as last seen (for metrics)."""
        return self.store.load()
