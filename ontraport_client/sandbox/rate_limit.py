"""Ontraport's rate limit: N requests per rolling window (180 per 60 s on live accounts)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowStatus:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the oldest request in the window leaves it

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset),
        }


class RollingWindowLimiter:
    """Remembers when each request of the window arrived (a deque of timestamps, oldest first).

    ``limit == 0`` means unlimited: nothing is recorded and no status is given. The clock is injectable
    so tests can move time instead of waiting for it.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(limit, window)

    def configure(self, limit: int, window: float) -> None:
        """Set new limits and forget the requests seen so far."""
        if limit < 0 or window <= 0:
            raise ValueError("rate limit must be >= 0 and the window > 0 seconds")
        with self._lock:
            self.limit = limit
            self.window = window
            self._arrivals: deque[float] = deque()

    def acquire(self) -> WindowStatus | None:
        """Count a request if the window has room. A refused request is not counted."""
        if self.limit == 0:
            return None
        with self._lock:
            now = self._forget_expired()
            allowed = len(self._arrivals) < self.limit
            if allowed:
                self._arrivals.append(now)
            return self._status(now, allowed)

    def peek(self) -> WindowStatus | None:
        """The window as it is, for answers that are not counted (401)."""
        if self.limit == 0:
            return None
        with self._lock:
            now = self._forget_expired()
            return self._status(now, len(self._arrivals) < self.limit)

    def _forget_expired(self) -> float:
        now = self._clock()
        while self._arrivals and self._arrivals[0] + self.window <= now:
            self._arrivals.popleft()
        return now

    def _status(self, now: float, allowed: bool) -> WindowStatus:
        # Rounded to the microsecond first: (t + 60) - t can come out a hair above 60 in floating point,
        # and its ceiling would then say 61 for the request that was just counted.
        reset = math.ceil(round(self._arrivals[0] + self.window - now, 6)) if self._arrivals else 0
        return WindowStatus(
            allowed=allowed, limit=self.limit, remaining=self.limit - len(self._arrivals), reset=max(reset, 0)
        )
