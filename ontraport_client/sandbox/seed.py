"""Seed data for the sandbox: the bundled demo set, an empty account, a JSON file or a dict.

Format: ``{"contacts": [{Ontraport fields...}], "tags": [{"tag_id": "1", "tag_name": "Members"}],
"fields": {"f1534": {"alias": "Username", "type": "text"}}}``; every key is optional.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SeedSource = str | Path | Mapping[str, Any]


@dataclass(frozen=True)
class SeedData:
    contacts: list[dict[str, str | None]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # custom field meta by field key


def ontraport_value(value: Any) -> str | None:
    """A value as Ontraport would send it back: every value is a string or null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"unsupported value {value!r}: use strings, numbers, booleans or null")


def ontraport_record(data: Mapping[str, Any]) -> dict[str, str | None]:
    if not isinstance(data, Mapping):
        raise ValueError("a contact must be a JSON object of Ontraport fields")
    return {str(key): ontraport_value(value) for key, value in data.items()}


def parse_seed(data: Mapping[str, Any]) -> SeedData:
    """Validate and normalise seed data; raises ``ValueError`` with a readable reason."""
    if not isinstance(data, Mapping):
        raise ValueError("seed data must be a JSON object")
    contacts = data.get("contacts", [])
    tags = data.get("tags", [])
    fields = data.get("fields", {})
    if not isinstance(contacts, list) or not isinstance(tags, list) or not isinstance(fields, Mapping):
        raise ValueError('"contacts" and "tags" must be lists, "fields" an object')
    parsed_tags = []
    for tag in tags:
        if not isinstance(tag, Mapping) or "tag_name" not in tag:
            raise ValueError(f"a tag needs a tag_name: {tag!r}")
        try:
            parsed_tags.append((int(tag["tag_id"]), str(tag["tag_name"])))
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"a tag needs an integer tag_id: {tag!r}") from None
    parsed_fields = {}
    for key, meta in fields.items():
        if not isinstance(meta, Mapping):
            raise ValueError(f"field meta for {key!r} must be an object")
        parsed_fields[str(key)] = dict(meta)
    return SeedData(
        contacts=[ontraport_record(contact) for contact in contacts],
        tags=parsed_tags,
        fields=parsed_fields,
    )


def load_seed(source: SeedSource) -> SeedData:
    """``"demo"``, ``"empty"``, a path to a JSON file, or the data itself."""
    if isinstance(source, Mapping):
        return parse_seed(source)
    if not isinstance(source, str | Path):
        raise ValueError("seed data must be 'demo', 'empty', a JSON file path or an object")
    if source == "empty":
        return SeedData()
    if source == "demo":
        text = resources.files(__package__).joinpath("demo.json").read_text(encoding="utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    return parse_seed(json.loads(text))
