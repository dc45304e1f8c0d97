"""Reading a webhook's parameters the way Ontraport may send them: query string, then form body, then JSON."""

import json
import re
from dataclasses import dataclass

from django.http import HttpRequest

# access_key=... in a query string or form body (also URL-encoded as access%5Fkey), up to the next & or end.
ACCESS_KEY_PATTERN = re.compile(r"((?:access_key|access%5[Ff]key)=)[^&\s#]*", re.IGNORECASE)

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y"})
# Largest id a PositiveBigIntegerField holds on every database.
CONTACT_ID_MAX = 9_223_372_036_854_775_807


class Ambiguous(Exception):
    """A parameter was given more than once with different values."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class WebhookParams:
    access_key: str | None
    action: str | None
    contact_id: str | None
    role: str | None
    send_notification: str | None
    email: str | None


def read_params(request: HttpRequest) -> WebhookParams:
    """Each parameter from the first place that has it. Raises Ambiguous, or RequestDataTooBig for a body
    over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    sources = _Sources(request)
    return WebhookParams(
        access_key=sources.get("access_key"),
        action=sources.get("wpf_action"),
        contact_id=sources.get("contact_id"),
        role=sources.get("role"),
        send_notification=sources.get("send_notification"),
        email=sources.get("email"),
    )


class _Sources:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self._json: dict[str, object] | None = None

    def get(self, name: str) -> str | None:
        values = self.request.GET.getlist(name)
        if not values and self.request.method == "POST":
            # Only form bodies populate request.POST; JSON bodies are read separately below.
            values = self.request.POST.getlist(name)
        if not values:
            value = self._json_body().get(name)
            if value is None:
                return None
            values = [str(value).lower() if isinstance(value, bool) else str(value)]
        if len(set(values)) > 1:
            raise Ambiguous(name)
        return values[0]

    def _json_body(self) -> dict[str, object]:
        if self._json is None:
            self._json = {}
            if self.request.method != "GET" and self.request.content_type == "application/json":
                try:
                    parsed = json.loads(self.request.body or b"{}")
                except (ValueError, UnicodeDecodeError):
                    parsed = None
                if isinstance(parsed, dict):
                    self._json = parsed
        return self._json


def parse_contact_id(raw: str | None) -> int | None:
    """A positive whole number that fits the database, else None. Whitespace around it is forgiven."""
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= CONTACT_ID_MAX else None


def parse_flag(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() in TRUE_WORDS


def clean_text(raw: str | None, max_length: int) -> str:
    """Printable text safe for every database (PostgreSQL refuses NUL bytes), cut to max_length."""
    if not raw:
        return ""
    return "".join(ch for ch in raw if ch.isprintable())[:max_length].strip()
