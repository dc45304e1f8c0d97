"""The one place that knows what a secret looks like: every log line, stored path, admin page and error
report is masked here.

Secrets are recognised two ways:
- by meaning: a parameter whose *decoded* name is the access key's (`access_key`, `%61ccess_key`,
  `ACCESS_KEY`, `access_key[]`, `access%5Fkey` ...) or a password's / API key's has its value masked,
  whatever that value is (a wrong key is someone's typo of the right one, or a guess worth hiding too);
- by value: every configured secret (current and previous access keys, the Ontraport API key, SECRET_KEY)
  is masked in every form it may be printed in: raw, URL-encoded, HTML-escaped, repr- and JSON-escaped.

API (all pure functions of their input and the settings):
    mask_text(text) -> str              a log line, a path, a report: both rules applied
    mask_query_string(query) -> str     a query string, pair by pair on decoded names
    mask_mapping(items) -> list         (name, value) pairs (GET, POST, META) with secret values masked
    request_path_masked(request) -> str a request's path and query string as a delivery stores it
    is_secret_name(name) -> bool        the decoded name is the access key's, a password's or an API key's
    secret_values() -> list[str]        the configured secrets, longest first
    MASK                                what a masked value becomes
"""

import functools
import html
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from django.conf import settings
from django.http import HttpRequest

from webhooks.params import clean_text

MASK = "***"
# The longest path a delivery stores (Delivery.path).
PATH_MAX = 2000
# Shorter values are not secrets worth scanning for (and would mask ordinary words).
SECRET_MIN_LENGTH = 8

# name=value pairs in URLs, form bodies and log lines. Names stop at separators, quotes and HTML's `&amp;`
# leftovers (`;`), so `?a=1&amp;access_key=K` still yields the pair `access_key=K`.
_PAIR = re.compile(r"(?<![^\s&?#=;\"'<>/])(?P<name>[^\s&?#=;\"'<>/]+)=(?P<value>[^&\s#\"'<>]*)")
# "name": "value" / 'name': 'value' / name='value' (JSON bodies, dict and dataclass reprs in tracebacks).
_QUOTED = re.compile(
    r"""(?<![\w%\[\]-])(?P<name>["']?[\w%\[\]-]{1,64}["']?)(?P<sep>\s*[:=]\s*)(?P<quote>["'])(?P<value>(?:\\.|(?!(?P=quote)).)*)(?P=quote)"""
)
# Unquoted `password: x` / `api_key=x` in free text (messages, exception strings).
_LOOSE = re.compile(r"((?:api[-_]?key|password|passwd)\s*[:=]\s*)(?![\"'*])[^&\s\"',}]+", re.IGNORECASE)
_SECRET_NAMES = frozenset(
    {"accesskey", "apikey", "password", "passwd", "pass", "password1", "password2", "secretkey"}
)
_HEADER_NAMES = frozenset({"httpxfusionaccesskey", "httpauthorization", "xfusionaccesskey", "authorization"})


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """True when `name`, decoded as Django would (and then some: twice, any case, `[]` and separators
    ignored), names the access key, a password or an API key."""
    for _ in range(3):  # %2561 -> %61 -> a: mask what any decoder along the way could read as the key
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    return folded in _SECRET_NAMES or folded in _HEADER_NAMES


def secret_values() -> list[str]:
    """The configured secrets, longest first (so a key containing another is masked whole)."""
    values = [
        settings.FUSION_ACCESS_KEY,
        *settings.FUSION_PREVIOUS_ACCESS_KEYS,
        settings.ONTRAPORT_API_KEY,
        settings.SECRET_KEY,
    ]
    return sorted({v for v in values if v and len(v) >= SECRET_MIN_LENGTH}, key=len, reverse=True)


def _forms(secret: str) -> set[str]:
    """Every way `secret` may be printed: raw, URL-encoded, HTML-escaped, repr/JSON-escaped, and mixes."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    # Django's templates escape ' as &#x27;, the stdlib html module as &#x27; too; older code as &#39;.
    forms |= {f.replace("&#x27;", "&#39;") for f in list(forms)}
    forms |= {html.escape(f) for f in list(forms)}
    forms |= {html.escape(repr(secret)[1:-1])}
    return {f for f in forms if f}


@functools.lru_cache(maxsize=8)
def _all_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    forms = {form for secret in secrets for form in _forms(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def _mask_values(text: str) -> str:
    for form in _all_forms(tuple(secret_values())):
        if form in text:
            text = text.replace(form, MASK)
    return text


def _mask_pair(match: re.Match[str]) -> str:
    if is_secret_name(match["name"]) and match["value"]:
        return f"{match['name']}={MASK}"
    return match[0]


def _mask_quoted(match: re.Match[str]) -> str:
    if is_secret_name(match["name"].strip("\"'")) and match["value"]:
        return f"{match['name']}{match['sep']}{match['quote']}{MASK}{match['quote']}"
    return match[0]


def mask_query_string(query: str) -> str:
    """A query string with the value of every secret-named parameter masked (names compared decoded)."""
    return _PAIR.sub(_mask_pair, query)


def mask_text(text: str) -> str:
    """Any text (a log line, a stored path, a rendered report) with secrets masked by name and by value."""
    if not text:
        return text
    text = _mask_values(text)
    if "=" in text:
        text = _PAIR.sub(_mask_pair, text)
    if ("'" in text or '"' in text) and (":" in text or "=" in text):
        text = _QUOTED.sub(_mask_quoted, text)
    text = _LOOSE.sub(rf"\1{MASK}", text)
    if "Bearer " in text or "bearer " in text:
        text = re.sub(r"(?i)(bearer\s+)\S+", rf"\1{MASK}", text)
    return text


def mask_mapping(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """(name, value) pairs with a secret name's value masked and every other string value masked by value;
    lists (QueryDict.lists()) are masked element by element."""
    masked: list[tuple[str, Any]] = []
    for name, value in items:
        if is_secret_name(str(name)):
            masked.append((name, [MASK] * len(value) if isinstance(value, list) else MASK))
        elif isinstance(value, list):
            masked.append((name, [mask_text(v) if isinstance(v, str) else v for v in value]))
        elif isinstance(value, str):
            masked.append((name, mask_text(value)))
        else:
            masked.append((name, value))
    return masked


def request_path_masked(request: HttpRequest) -> str:
    """The request's path and query string with secrets masked, printable and cut to PATH_MAX: what its
    delivery stores and the admin shows."""
    return clean_text(mask_text(request.get_full_path()), PATH_MAX)
