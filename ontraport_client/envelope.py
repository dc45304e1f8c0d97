"""Turn one HTTP answer into Ontraport's ``data``, or into the matching typed error.

Success is HTTP 2xx with ``{"code": 0, "data": ..., "account_id": ...}``. Errors are non-2xx with
plain-text bodies (not JSON), and ``code != 0`` is an error too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from .errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    OntraportError,
    RateLimitedError,
    ServerError,
    TransportError,
    excerpt,
)


def _reset_seconds(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("X-Rate-Limit-Reset", "")))
    except ValueError:
        return 0.0


def error_for_status(status: int, body: str, headers: Mapping[str, str], what: str) -> OntraportError:
    """The typed error for a non-2xx answer. ``what`` names the call ("GET Contacts") for the message."""
    message = f"{what}: HTTP {status}: {excerpt(body, 120) or '(empty body)'}"
    if status in (401, 403):
        return AuthenticationError(message, status=status, body_excerpt=body)
    if status == 404:
        return NotFoundError(message, status=status, body_excerpt=body)
    if status == 429:
        return RateLimitedError(
            message, status=status, body_excerpt=body, reset_seconds=_reset_seconds(headers)
        )
    if status >= 500:
        return ServerError(message, status=status, body_excerpt=body)
    return ApiError(message, status=status, body_excerpt=body)


def unwrap(response: requests.Response, what: str) -> Any:
    """The ``data`` of a successful answer; raises a typed :class:`OntraportError` otherwise."""
    status = response.status_code
    body = response.text
    if not 200 <= status < 300:
        raise error_for_status(status, body, response.headers, what)
    try:
        payload = response.json()
    except ValueError:
        # An HTML page (proxy, maintenance screen) or a cut-off body: no answer we can use.
        content_type = response.headers.get("Content-Type", "no content type")
        raise TransportError(
            f"{what}: HTTP {status} answer is not JSON ({content_type})", status=status, body_excerpt=body
        ) from None
    if not isinstance(payload, dict) or "code" not in payload:
        raise TransportError(
            f"{what}: HTTP {status} answer is not Ontraport's envelope", status=status, body_excerpt=body
        )
    if str(payload["code"]).strip() != "0":
        raise ApiError(
            f"{what}: Ontraport answered code {payload['code']!r}", status=status, body_excerpt=body
        )
    return payload.get("data")
