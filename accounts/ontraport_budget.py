"""One Ontraport budget for every process of the site: the pacer's state in Django's cache.

With CACHE_URL naming a shared cache (redis://...), every worker and web process on every machine reads
and spends the same X-Rate-Limit budget, under one lock, so three workers pace like one: no 429 storm when
a window frees up. With the default per-process cache (locmem) nothing is shared and each process paces
from its own memory, as before.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import caches

from ontraport_client.pacing import InMemoryStateStore, RateLimitState, RateLimitStateStore

# Caches whose contents one process alone sees: sharing through them would share nothing.
PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
STATE_TIMEOUT = 3600  # seconds: a budget untouched for an hour says nothing about the window any more
LOCK_TIMEOUT = 5  # seconds: a process that dies holding the lock blocks the others this long at most
LOCK_POLL = 0.002


def cache_is_shared(alias: str = "default") -> bool:
    return settings.CACHES[alias]["BACKEND"] not in PROCESS_LOCAL_CACHES


class CacheStateStore:
    """A ``RateLimitStateStore`` (with the ``locked()`` of a shared one) kept in a Django cache.

    The lock is an atomic add (Redis: SET NX EX) of a key holding this holder's token; the pacer holds it
    for one read and one write, so it is free almost all of the time."""

    def __init__(self, *, name: str = "ontraport", alias: str = "default") -> None:
        self.cache = caches[alias]
        # The version names the stored shape: during a rolling upgrade, old and new code each keep their own
        # rather than misreading the other's (they pace apart until the old processes are gone).
        self.key = f"fusion:budget:{name}:state:v2"
        self.lock_key = f"fusion:budget:{name}:lock"

    def load(self) -> RateLimitState:
        stored = self.cache.get(self.key)
        if not stored:
            return RateLimitState()
        limit, remaining, reset_at, probing, observed_at, calls = stored
        return RateLimitState(
            limit=limit,
            remaining=remaining,
            reset_at=reset_at,
            probing=probing,
            observed_at=observed_at,
            calls=tuple((sent_at, answered_at) for sent_at, answered_at in calls),
        )

    def save(self, state: RateLimitState) -> None:
        value = (state.limit, state.remaining, state.reset_at, state.probing, state.observed_at, state.calls)
        self.cache.set(self.key, value, timeout=STATE_TIMEOUT)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_TIMEOUT
        while not self.cache.add(self.lock_key, token, timeout=LOCK_TIMEOUT):
            if time.monotonic() > deadline:
                break  # the holder died: its lock expires about now; going on beats stalling every worker
            time.sleep(LOCK_POLL)
        try:
            yield
        finally:
            if self.cache.get(self.lock_key) == token:
                self.cache.delete(self.lock_key)


def budget_store(*, name: str = "ontraport") -> RateLimitStateStore:
    """The pacer store for one Ontraport budget: shared through the cache when the cache is shared, in
    this process's memory otherwise. Every client of the same account (the webhook worker's, a bulk
    client's) must use the same `name`, so they spend one budget."""
    if cache_is_shared():
        return CacheStateStore(name=name)
    return InMemoryStateStore()


def budget_clock() -> float:
    """The pacer's clock: wall time when the budget is shared (every machine must read the same reset
    time; NTP keeps them within milliseconds), the monotonic clock otherwise."""
    return time.time() if cache_is_shared() else time.monotonic()
