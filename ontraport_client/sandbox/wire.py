"""The sandbox's view of one HTTP exchange, independent of ``http.server``.

The request handlers (Ontraport API, control API) take a :class:`Request` and return a
:class:`Response`; only :mod:`.server` touches sockets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json_body(self) -> Any:
        """The body parsed as JSON; ``None`` when empty. Raises ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def params(self) -> dict[str, Any]:
        """Query string and body merged, the body winning: Ontraport reads either.

        The body may be JSON (an object) or form-encoded, whatever the Content-Type says, because
        clients are not consistent about it. Raises ``ValueError`` for a body that is neither.
        """
        params: dict[str, Any] = dict(self.query)
        if not self.body.strip():
            return params
        content_type = self.header("content-type")
        text = self.body.decode("utf-8")
        if "json" in content_type or text.lstrip().startswith(("{", "[")):
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise ValueError("the body must be a JSON object")
            params.update(parsed)
        else:
            params.update(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
        return params


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def text_response(status: int, text: str) -> Response:
    """Ontraport answers errors in plain text, not JSON."""
    return Response(status, text.encode(), "text/plain; charset=utf-8")


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")
