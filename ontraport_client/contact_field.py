"""The description of one contact field, from ``GET Contacts/meta``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _parse_options(raw: object) -> dict[str, str]:
    """Dropdown / list options as ``{option id: label}``.

    Ontraport's meta has them as an object ``{"1": "Gold"}``; a list of ``{"id", "name"}`` rows or of
    plain labels is accepted too, because the shape is not documented (unverified).
    """
    if isinstance(raw, Mapping):
        return {str(key): str(label) for key, label in raw.items()}
    options: dict[str, str] = {}
    if isinstance(raw, list):
        for position, item in enumerate(raw):
            if isinstance(item, Mapping):
                key = item.get("id", item.get("value", position))
                options[str(key)] = str(item.get("name", item.get("label", key)))
            else:
                options[str(position)] = str(item)
    return options


@dataclass(frozen=True)
class ContactField:
    key: str  # the field name in contact data: "firstname", "f1534" ...
    label: str  # what the Ontraport UI shows ("alias" in the meta)
    type: str  # "text", "email", "drop", "list", "timestamp" ...
    options: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_api(cls, key: str, data: Mapping[str, Any]) -> ContactField:
        return cls(
            key=key,
            label=str(data.get("alias") or key),
            type=str(data.get("type") or ""),
            options=_parse_options(data.get("options")),
        )
