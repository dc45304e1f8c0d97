"""Pacing: stay under Ontraport's rolling rate limit instead of running into 429s.

Every answer carries ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``
(whole seconds until the oldest request leaves the window). The pacer remembers the last values and
counts its own requests down from them; when the remaining budget is down to ``reserve`` (a few requests
kept back for other programs on the same account) it waits.

The window is rolling: each request leaves it ``window`` seconds after it reached the server, so after a
burst the budget comes back one request at a time, at the pace the burst spent it. The pacer therefore
also logs its own answered requests of the last window (shared by every process with a shared store), and
a request goes as soon as one of those has surely left the window since the last answer; it does not
wait for the rounded-up reset and then probe one request at a time. Requests of other programs are known
only from the answers; when the reset says the window moved on for a reason the log cannot see, one
request probes it.
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
    """What the last answer said about the window, and the requests sent since. ``None``: not known."""

    limit: int | None = None
    remaining: int | None = None  # the last answer's, less the requests sent since
    reset_at: float | None = None  # on the pacer's clock
    # A request went out after the window moved on, to learn what it freed; others wait for its answer.
    probing: bool = False
    observed_at: float | None = None  # when the last answer was read, on the pacer's clock
    # This site's answered requests of the last window, oldest first: (sent at, answered at). The server
    # counted each from some moment in between.
    calls: tuple[tuple[float, float], ...] = ()


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
    """Waits before a request when the budget is used up. Thread-safe, and process-safe with a shared
    store."""

    # How long the others wait for the answer of the request sent to probe a window that moved on, before
    # one of them probes in its place (the prober may have died); they look every PROBE_POLL_SECONDS.
    PROBE_SECONDS = 2.0
    PROBE_POLL_SECONDS = 0.05
    # A logged request counts as gone from the window this long after `window` has passed since its answer:
    # room for the clocks of several machines sharing the log to differ a little.
    LOG_MARGIN_SECONDS = 0.1

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        reserve: int = 0,
        store: RateLimitStateStore | None = None,
        window: float = 60.0,
    ) -> None:
        """`window`: the rate limit's rolling window in seconds (Ontraport's is a minute). Never set it
        shorter than the server's: the pacer would count requests as gone that are still counted."""
        if reserve < 0:
            raise ValueError("reserve must be >= 0")
        if window <= 0:
            raise ValueError("window must be > 0 seconds")
        self.clock = clock
        self._sleep = sleep
        self.reserve = reserve
        self.window = window
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

    def would_wait(self) -> bool:
        """Whether a request asked for now would have to wait (the budget down to ``reserve``), spending
        nothing: for work that had rather step aside than wait (the site's outbox, behind webhooks)."""
        with self._locked():
            state = self.store.load()
            now = self.clock()
            if state.remaining is None or state.reset_at is None:
                return False
            freed, _ = self._freed_since_answer(state, now)
            return state.remaining + freed <= self.reserve and state.reset_at > now

    def _spend_or_wait(self) -> float:
        """Spend one request of the budget and return 0, or return how long to wait before asking again."""
        with self._locked():
            state = self.store.load()
            now = self.clock()
            if state.remaining is None or state.reset_at is None:
                return 0.0
            freed, next_free_at = self._freed_since_answer(state, now)
            if state.remaining + freed > self.reserve:
                # Spend one request now, so others sending at the same time do not all count on the same
                # last request. The next answer overwrites this count.
                self.store.save(replace(state, remaining=state.remaining - 1))
                return 0.0
            if state.reset_at <= now:
                # The server says the window moved on, for a reason the log cannot see (another program's
                # requests leaving it): this request goes and finds out what was freed; the others wait
                # for its answer rather than all spending the same freed request (a 429 each).
                self.store.save(replace(state, remaining=0, reset_at=now + self.PROBE_SECONDS, probing=True))
                return 0.0
            # Leave the state alone so others arriving now wait for the same moment.
            wait = state.reset_at - now
            if state.probing:
                wait = min(wait, self.PROBE_POLL_SECONDS)
            if next_free_at is not None:
                wait = min(wait, next_free_at - now)
            return max(wait, 0.001)

    def _freed_since_answer(self, state: RateLimitState, now: float) -> tuple[int, float | None]:
        """How many logged requests have surely left the window since the last answer, and when the next
        one will. Such a request was surely in the window the answer reported on (it was sent less than a
        window before), so each frees one request of that answer's budget; it has surely left once a window
        has passed since its answer. Requests of the log that were answered and left before the last
        answer are already in its budget."""
        observed_at = state.observed_at if state.observed_at is not None else now
        gone_at = [
            answered_at + self.window + self.LOG_MARGIN_SECONDS
            for sent_at, answered_at in state.calls
            if sent_at + self.window > observed_at
        ]
        freed = sum(1 for at in gone_at if at <= now)
        upcoming = [at for at in gone_at if at > now]
        return freed, min(upcoming) if upcoming else None

    def observe(self, headers: Mapping[str, str], *, sent_at: float | None = None) -> None:
        """Record the ``X-Rate-Limit-*`` headers of an answer (any status, 429 included) to the request sent
        at `sent_at` (on the pacer's clock; unknown: now)."""
        limit = _number(_header(headers, "X-Rate-Limit-Limit"))
        remaining = _number(_header(headers, "X-Rate-Limit-Remaining"))
        reset = _number(_header(headers, "X-Rate-Limit-Reset"))
        if limit is None and remaining is None and reset is None:
            return
        with self._locked():
            previous = self.store.load()
            now = self.clock()
            self.store.save(
                RateLimitState(
                    limit=int(limit) if limit is not None else previous.limit,
                    remaining=int(remaining) if remaining is not None else None,
                    reset_at=now + reset if reset is not None else None,
                    observed_at=now,
                    # Only requests sent less than a window before this answer can count for what comes
                    # back after it (see _freed_since_answer).
                    calls=(
                        *(call for call in previous.calls if call[0] + self.window > now),
                        (sent_at if sent_at is not None else now, now),
                    ),
                )
            )

    def state(self) -> RateLimitState:
        """The budget as last seen (for metrics)."""
        return self.store.load()
