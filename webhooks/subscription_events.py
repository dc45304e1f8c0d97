"""Reading the events Ontraport POSTs for a webhook subscription (accounts.services.tag_subscriptions).

Ontraport sends the event form-encoded (``webhook_id``, ``object_type_id``, ``event[type]``,
``event[tag_id]``, the object as ``data[field]``) or as JSON (``{"object_type_id": 0, "event": {"type": ...},
"data": {"id": ...}}``); both are read. An event is only a hint: the contact is fetched as it is now, like
for any update_tags webhook, so an event that arrives late or twice does no harm.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accounts.reasons import FailureReason
from webhooks.params import parse_contact_id

TAG_EVENTS = frozenset({"sub_tag", "unsub_tag"})
CONTACTS = "0"


@dataclass(frozen=True)
class TagEvent:
    type: str
    tag_id: int | None
    contact_id: int


class BadEvent(Exception):
    """A malformed event: `reason` (machine-readable) and `message` (in words) for the log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def tag_event_read(request: HttpRequest) -> TagEvent:
    """The event of a subscription POST. Raises BadEvent."""
    fields = _fields(request)
    object_type = str(fields.get("object_type_id", CONTACTS)).strip()
    if object_type != CONTACTS:
        raise BadEvent(
            "unsupported_object", f"object_type_id {object_type[:20]!r}: only contacts (0) are synced"
        )
    event_type = str(fields.get("event[type]") or "").strip()
    if event_type not in TAG_EVENTS:
        reason = "missing_event" if not event_type else "unknown_event"
        raise BadEvent(reason, "event[type] must be sub_tag or unsub_tag")
    raw_id = fields.get("data[id]")
    contact_id = parse_contact_id(None if raw_id is None else str(raw_id))
    if contact_id is None:
        reason = "missing_contact_id" if raw_id in (None, "") else "invalid_contact_id"
        raise BadEvent(reason, "data[id] must be the contact's id, a positive whole number")
    tag_id = parse_contact_id(str(fields.get("event[tag_id]") or ""))  # the same rule: a positive number
    return TagEvent(type=event_type, tag_id=tag_id, contact_id=contact_id)


def _fields(request: HttpRequest) -> dict[str, Any]:
    """The body as flat ``name[key]`` fields, whatever its encoding."""
    if request.content_type == "application/json":
        try:
            parsed = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadEvent(FailureReason.INVALID_JSON, "the body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise BadEvent(FailureReason.INVALID_JSON, "the body must be a JSON object")
        flat: dict[str, Any] = {}
        for name, value in parsed.items():
            if isinstance(value, dict):
                flat.update({f"{name}[{key}]": inner for key, inner in value.items()})
            else:
                flat[name] = value
        return flat
    return {name: request.POST.get(name) for name in request.POST}
