"""Test helpers shared by this package's tests and the site's: a clock that only moves when told.

``FakeClock`` is both a clock and a sleep function. Give it to a :class:`~ontraport_client.Pacer`
(and to a ``SandboxServer`` as its rate-limit clock) and every wait of the client is recorded and
"happens" at once, so tests never sleep for real.
"""

from __future__ import annotations

import socket
import threading


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock on by it."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Move the clock on without recording a sleep (time passing elsewhere)."""
        with self._lock:
            self._now += seconds


def unused_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on (just released by the OS): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
