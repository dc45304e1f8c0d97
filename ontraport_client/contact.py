"""A contact as Ontraport sends it, parsed into the few values the site relies on.

Ontraport sends every value as a string or null (ids, dates as unix seconds, flags), and a contact's tags
as one string field, ``contact_cat``, shaped ``"*/*12*/*34*/*"``. The raw fields are kept as sent so
callers can map any custom field (``f1534`` ...) without this module knowing about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TAG_SEPARATOR = "*/*"
# Ids are stored in 64-bit signed columns: anything larger cannot be a real Ontraport id.
ID_MAX = 2**63 - 1
# The contact's page in Ontraport's own app (where the site's admin pages link a contact id to).
APP_URL = "https://app.ontraport.com/#!/contact/edit&id={}"


def contact_app_url(contact_id: int) -> str:
    """The contact's page in Ontraport's app, for a person to open."""
    return APP_URL.format(contact_id)


def parse_tag_ids(contact_cat: object) -> frozenset[int]:
    """Tag ids from a ``contact_cat`` value.

    ``"*/*12*/*34*/*"`` → {12, 34}; ``""``, ``"*/*"`` and ``None`` → {}. Parts that are not positive
    integers are skipped rather than failing the whole contact: one odd value should not stop a sync.
    """
    if not isinstance(contact_cat, str):
        return frozenset()
    tag_ids = set()
    for part in contact_cat.split(TAG_SEPARATOR):
        part = part.strip()
        # isascii() too: str.isdigit() accepts characters such as "²" that int() rejects.
        if part.isascii() and part.isdigit() and 0 < int(part) <= ID_MAX:
            tag_ids.add(int(part))
    return frozenset(tag_ids)


def tag_ids_problem(contact_cat: object) -> str:
    """Why a ``contact_cat`` value cannot be trusted, or "" when every part is a usable tag id.

    :func:`parse_tag_ids` skips odd parts; applying a contact with them would silently drop tags the
    contact really has, so such a contact is refused on its own (the rest of its batch goes on)."""
    if contact_cat is None:
        return ""
    if not isinstance(contact_cat, str):
        return f"contact_cat is not text: {contact_cat!r}"[:200]
    for part in contact_cat.split(TAG_SEPARATOR):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or not 0 < int(part) <= ID_MAX:
            return f"tag id {part[:40]!r} in contact_cat is not a usable id"
    return ""


def format_tag_ids(tag_ids: frozenset[int] | set[int]) -> str:
    """The ``contact_cat`` string for a set of tag ids (the inverse of :func:`parse_tag_ids`)."""
    if not tag_ids:
        return ""
    return TAG_SEPARATOR + TAG_SEPARATOR.join(str(tag_id) for tag_id in sorted(tag_ids)) + TAG_SEPARATOR


def _as_text(value: object) -> str | None:
    """Ontraport values are strings or null; anything else (a stray number) is turned into its text."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass(frozen=True)
class Contact:
    id: int
    email: str
    first_name: str
    last_name: str
    tag_ids: frozenset[int]
    # Every field as Ontraport sent it. Left out of the hash (a dict is unhashable), kept in equality.
    fields: Mapping[str, str | None] = field(default_factory=dict, hash=False, repr=False)
    # Why this contact's data cannot be applied as sent (e.g. an out-of-range tag id), or "": such a
    # contact is refused on its own, with this as its reason, instead of failing its whole batch.
    invalid: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Contact:
        """Build a contact from one object of Ontraport's ``data``.

        Raises ``ValueError`` when the object has no usable ``id``: without it nothing can be linked.
        Any other unusable value is named in ``invalid``.
        """
        raw_id = data.get("id")
        try:
            contact_id = int(str(raw_id).strip())
        except ValueError:
            raise ValueError(f"contact without a usable id: {raw_id!r}") from None
        if not 0 < contact_id <= ID_MAX:
            raise ValueError(f"contact without a usable id: {raw_id!r}")
        fields = {str(key): _as_text(value) for key, value in data.items()}
        return cls(
            id=contact_id,
            email=(fields.get("email") or "").strip(),
            first_name=(fields.get("firstname") or "").strip(),
            last_name=(fields.get("lastname") or "").strip(),
            tag_ids=parse_tag_ids(fields.get("contact_cat")),
            fields=fields,
            invalid=tag_ids_problem(data.get("contact_cat")),
        )
