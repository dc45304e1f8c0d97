"""Reading a webhook's parameters the way Ontraport may send them: query string, then form body, then JSON."""

import json
import re
from dataclasses import dataclass

from django.http import HttpRequest

# Headers a sender may carry the key in instead of the URL (Ontraport's "Send A Webhook" element sets
# custom headers): X-Fusion-Access-Key: KEY, or Authorization: Bearer KEY.
KEY_HEADER = "HTTP_X_FUSION_ACCESS_KEY"
BEARER = re.compile(r"\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
# Webhook JSON is flat; nesting deeper than this is refused before the parser recurses into it.
JSON_MAX_DEPTH = 20
_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_NON_BRACKETS = re.compile(rb"[^\[\]{}]+")

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y"})
# Largest id a PositiveBigIntegerField holds on every database.
CONTACT_ID_MAX = 9_223_372_036_854_775_807


class InvalidJson(Exception):
    """A JSON body that does not parse, is not UTF-8, or nests deeper than JSON_MAX_DEPTH."""


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
    """Each parameter from the first place that has it; the key from a header first. Raises Ambiguous,
    InvalidJson, or RequestDataTooBig for a body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    sources = _Sources(request)
    header_key = access_key_from_headers(request)
    if header_key is not None:
        in_params = sources.get("access_key")
        if in_params is not None and in_params != header_key:
            raise Ambiguous("access_key")
    return WebhookParams(
        access_key=header_key if header_key is not None else sources.get("access_key"),
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
                parsed = json_load(self.request.body or b"{}")
                if isinstance(parsed, dict):
                    self._json = parsed
        return self._json


def access_key_from_headers(request: HttpRequest) -> str | None:
    """The key from X-Fusion-Access-Key, else from Authorization: Bearer; None when neither is sent."""
    if (key := request.META.get(KEY_HEADER)) is not None:
        return key.strip()
    if match := BEARER.match(request.META.get("HTTP_AUTHORIZATION", "")):
        return match[1]
    return None


def json_load(body: bytes) -> object:
    """The parsed body; InvalidJson when it is not JSON or nests deeper than JSON_MAX_DEPTH (the stdlib
    parser recurses, and a body nested 100,000 deep would raise RecursionError: a 500 on any path)."""
    if body.count(b"[") + body.count(b"{") > JSON_MAX_DEPTH and json_depth(body) > JSON_MAX_DEPTH:
        raise InvalidJson(f"nested deeper than {JSON_MAX_DEPTH}")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidJson(type(error).__name__) from None


def json_depth(body: bytes) -> int:
    """How deep `body`'s brackets nest, strings skipped; linear in the body's size."""
    brackets = _JSON_NON_BRACKETS.sub(b"", _JSON_STRINGS.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


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
