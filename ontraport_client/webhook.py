"""A webhook subscription: Ontraport POSTs an event (a tag added, a tag removed ...) to a URL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WebhookSubscription:
    id: int
    event: str  # "sub_tag", "unsub_tag" ...
    url: str
    tag_id: int | None  # from the subscription's data, for tag events
    last_code: int  # the HTTP status the URL last answered; 0 before the first event (or no answer)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookSubscription:
        """From a row such as ``{"id": "4", "event": "sub_tag", "data": "{\\"tag_id\\": 3}", "url": ...,
        "last_code": "200"}``. Raises ``ValueError`` when ``id`` is not an integer."""
        raw_data = data.get("data")
        try:
            parsed = json.loads(raw_data) if isinstance(raw_data, str) and raw_data else raw_data
            tag_id: int | None = int(str(parsed["tag_id"])) if isinstance(parsed, Mapping) else None
        except (ValueError, KeyError):
            tag_id = None
        try:
            last_code = int(str(data.get("last_code") or 0))
        except ValueError:
            last_code = 0
        return cls(
            id=int(str(data.get("id")).strip()),
            event=str(data.get("event") or ""),
            url=str(data.get("url") or ""),
            tag_id=tag_id,
            last_code=last_code,
        )
