"""Typed errors for everything that can go wrong talking to Ontraport.

Every error carries the HTTP status (``None`` when no answer arrived) and a short excerpt of the body,
so a log line or an admin message says what Ontraport answered. None of them ever carries the API key:
messages are built from the method, the path (never the query string, which may hold e-mail addresses)
and the answer.
"""

from __future__ import annotations

from typing import ClassVar

BODY_EXCERPT_LIMIT = 200


def excerpt(text: str, limit: int = BODY_EXCERPT_LIMIT) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    collapsed = " ".join(text.split())
    if len(collapsed) <= limit:
        return collapsed
    return collapsed[: limit - 1] + "…"


class OntraportError(Exception):
    """Base class of every error raised by the client.

    ``transient`` says whether trying the same call later may succeed (rate limits, server errors,
    network trouble); callers with their own durable retries use it to choose "retry" or "fail".
    """

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, body_excerpt: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body_excerpt = excerpt(body_excerpt)


class AuthenticationError(OntraportError):
    """401 or 403: the App ID / API Key pair was refused, or lacks the permission."""


class NotFoundError(OntraportError):
    """404: the object does not exist."""


class RateLimitedError(OntraportError):
    """429: the account's rolling request window is full; ``reset_seconds`` until a slot frees up."""

    transient = True

    def __init__(
        self, message: str, *, status: int | None = 429, body_excerpt: str = "", reset_seconds: float = 0.0
    ) -> None:
        super().__init__(message, status=status, body_excerpt=body_excerpt)
        self.reset_seconds = reset_seconds


class ServerError(OntraportError):
    """5xx: Ontraport (or a proxy in front of it) failed."""

    transient = True


class ApiError(OntraportError):
    """Any other non-2xx answer (400 invalid query, 422 invalid e-mail ...), or a 200 with ``code != 0``."""


class TransportError(OntraportError):
    """No usable answer: timeout, refused or dropped connection, or a body that is not the JSON envelope
    (malformed JSON, an HTML page from a proxy or a maintenance screen)."""

    transient = True


class ConditionIgnoredError(OntraportError):
    """A list answer that a ``condition`` asked not to contain rows it does contain: the account ignores
    the condition on that call. Not transient: asking again gets the same answer; page another way."""
