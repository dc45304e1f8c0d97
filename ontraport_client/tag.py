"""A tag, Ontraport object type 14."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tag:
    id: int
    name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Tag:
        """Build a tag from a row such as ``{"tag_id": "12", "tag_name": "Members", "object_type_id": "0"}``.

        Raises ``ValueError`` when ``tag_id`` is not an integer.
        """
        tag_id = int(str(data.get("tag_id")).strip())
        return cls(id=tag_id, name=str(data.get("tag_name") or ""))
