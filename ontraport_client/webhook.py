"""A webhook subscription: Ontraport POSTs an event (a tag added, a tag removed ...) to a URL."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Ontraport names an event's target in parentheses: "sub_tag(4)", "unsub_tag(4)", "object_create(0)"
# (PHP SDK src/Webhooks.php; Ontraport's "API Webhook Subscriptions" article).
_EVENT = re.compile(r"\s*([A-Za-z_]+)\s*(?:\(\s*(\d+)\s*\))?\s*")


def event_with_target(event: str, target_id: int) -> str:
    """``("sub_tag", 4)`` → ``"sub_tag(4)"``, the event as Ontraport's subscribe call takes it."""
    return f"{event}({int(target_id)})"


@dataclass(frozen=True)
class WebhookSubscription:
    id: int
    event: str  # the bare name: "sub_tag", "unsub_tag" ...
    url: str
    tag_id: int | None  # the event's target for tag events ("sub_tag(4)" → 4); None when it names none
    last_code: int  # the HTTP status the URL last answered; 0 before the first event (or no answer)
    data: str = ""  # the payload options it was made with, e.g. '{"format": "notify"}'

    @property
    def target(self) -> str:
        """The event as Ontraport lists it: ``sub_tag(4)``, or the bare name when it names no target."""
        return self.event if self.tag_id is None else event_with_target(self.event, self.tag_id)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookSubscription:
        """From a row of ``GET /Webhooks`` such as ``{"id": "4", "event": "sub_tag(3)", "data":
        "{\\"format\\": \\"notify\\"}", "url": ..., "last_code": "200"}``. Raises ``ValueError`` when ``id``
        is not an integer. Another app's row (any event, any data) is read too: it is listed, not ours."""
        raw_event = str(data.get("event") or "")
        matched = _EVENT.fullmatch(raw_event)
        name = matched.group(1) if matched else raw_event.strip()
        tag_id = int(matched.group(2)) if matched and matched.group(2) else None
        raw_data = data.get("data")
        try:
            last_code = int(str(data.get("last_code") or 0))
        except ValueError:
            last_code = 0
        return cls(
            id=int(str(data.get("id")).strip()),
            event=name,
            url=str(data.get("url") or ""),
            tag_id=tag_id,
            last_code=last_code,
            data=raw_data if isinstance(raw_data, str) else json.dumps(raw_data) if raw_data else "",
        )
