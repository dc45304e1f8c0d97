"""Waiting for something another process or thread does: poll with a deadline, never a bare sleep loop."""

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float = 30.0,
    what: str | Callable[[], str] = "condition",
    every: float = 0.1,
) -> Any:
    """Poll `condition` every `every` seconds until it is truthy and return its value; fail the test after
    `timeout` seconds (`what`, or what it returns, explains the wait in the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            explained = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {explained}")
        time.sleep(every)
