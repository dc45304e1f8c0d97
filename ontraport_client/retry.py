"""When a failed call is worth trying again, and after how long."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OntraportError, RateLimitedError


@dataclass(frozen=True)
class RetryPolicy:
    """Retries inside one call of the client.

    ``max_attempts`` counts every attempt, the first included: ``RetryPolicy(max_attempts=1)`` never
    retries, for callers (the site's worker) that keep durable retries of their own.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5  # up to this fraction of the delay is added, so clients do not retry in step
    retry_rate_limited: bool = True
    max_rate_limit_wait: float = 120.0  # a 429 asking to wait longer than this is raised, not waited out

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_rate_limit_wait < 0:
            raise ValueError("delays must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, attempt: int, random_fraction: float) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): exponential, jittered, capped."""
        exponential = self.base_delay * 2.0 ** (attempt - 1)
        return min(self.max_delay, exponential * (1 + self.jitter * random_fraction))

    def delay_before_retry(self, attempt: int, error: OntraportError, random_fraction: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up and raise ``error``."""
        if attempt >= self.max_attempts or not error.transient:
            return None
        if isinstance(error, RateLimitedError):
            if not self.retry_rate_limited or error.reset_seconds > self.max_rate_limit_wait:
                return None
            # Ontraport sends no Retry-After; its SDK waits X-Rate-Limit-Reset seconds. Without the
            # header, fall back to the backoff rather than hammering the full window.
            if error.reset_seconds > 0:
                return error.reset_seconds
        return self.backoff(attempt, random_fraction)
