"""The shapes of a webhook's parameters: the key's headers, JSON's depth limit, ids, flags and text.
Where they are read from (query string, then form body, then JSON) is webhooks.edge's."""

import json
import re
from dataclasses import dataclass

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
    if not raw.isprintable():  # the usual text is printable: checked in C, not character by character
        raw = "".join(ch for ch in raw if ch.isprintable())
    return raw[:max_length].strip()
