"""Ontraport's ``condition`` parameter: a JSON list of comparisons joined by "AND" / "OR".

``[{"field":{"field":"email"},"op":"=","value":{"value":"a@b.c"}},"AND",
{"field":{"field":"id"},"op":"IN","value":{"list":[{"value":1},{"value":2}]}}]``

AND binds tighter than OR, as in the SQL Ontraport builds from it. Text comparisons ignore case, like
MySQL's default collation. Anything not understood raises ``ValueError`` (the API answers 400).

The operators are the PHP SDK's (``Criteria::_validateCondition``): ``=``, ``<>``, ``>``, ``<``, ``>=``,
``<=``, ``IN``, ``NOT IN``, ``IS`` (with the value ``NULL``) and ``LIKE``; nothing else (no ``!=``, no
``IS NULL`` as one operator), so a client relying on another one fails here as it would on an account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Record = Mapping[str, str | None]
Predicate = Callable[[Record], bool]

COMPARISONS = frozenset({"=", "<>", ">", "<", ">=", "<=", "LIKE", "IN", "NOT IN"})


def parse_condition(text: str) -> Predicate:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValueError("condition is not JSON") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items:
        raise ValueError("empty condition")
    # Split "a AND b OR c" into [[a, b], [c]]: any group all true makes the whole true.
    groups: list[list[Predicate]] = [[]]
    expect_comparison = True
    for item in items:
        if expect_comparison:
            groups[-1].append(_comparison(item))
        elif isinstance(item, str) and item.upper() in ("AND", "OR"):
            if item.upper() == "OR":
                groups.append([])
        else:
            raise ValueError(f"expected AND or OR, got {item!r}")
        expect_comparison = not expect_comparison
    if expect_comparison:
        raise ValueError("condition ends with AND/OR")
    return lambda record: any(all(test(record) for test in group) for group in groups)


def _comparison(item: Any) -> Predicate:
    if not isinstance(item, Mapping):
        raise ValueError(f"not a comparison: {item!r}")
    field_spec = item.get("field")
    field = field_spec.get("field") if isinstance(field_spec, Mapping) else field_spec
    op = str(item.get("op", "")).strip().upper()
    if not isinstance(field, str) or not field:
        raise ValueError("comparison without a field")
    value = item.get("value")
    if op == "IS":
        expected_null = value.get("value") if isinstance(value, Mapping) else value
        if expected_null is not None and str(expected_null).strip().upper() != "NULL":
            raise ValueError("IS takes the value NULL only")
        return lambda record: record.get(field) in (None, "")
    if op not in COMPARISONS:
        raise ValueError(f"unsupported op {op!r}")
    if op in ("IN", "NOT IN"):
        listed = value.get("list") if isinstance(value, Mapping) else None
        if not isinstance(listed, list):
            raise ValueError(f"{op} needs a value list")
        options = {_text(entry.get("value") if isinstance(entry, Mapping) else entry) for entry in listed}
        negate = op == "NOT IN"
        return lambda record: (_text(record.get(field)) in options) != negate
    expected = value.get("value") if isinstance(value, Mapping) else value
    if op == "LIKE":
        pattern = _like_pattern(_text(expected))
        return lambda record: bool(pattern.fullmatch(_text(record.get(field))))
    return lambda record: _compare(record.get(field), op, expected)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip().casefold()


def _like_pattern(like: str) -> re.Pattern[str]:
    parts = (".*" if char == "%" else "." if char == "_" else re.escape(char) for char in like)
    return re.compile("".join(parts), re.DOTALL)


def _number(value: Any) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _compare(actual: str | None, op: str, expected: Any) -> bool:
    left: Any = _number(actual)
    right: Any = _number(expected)
    if left is None or right is None:  # not both numbers: compare as text
        left, right = _text(actual), _text(expected)
    if op == "=":
        return bool(left == right)
    if op == "<>":
        return bool(left != right)
    if op == ">":
        return bool(left > right)
    if op == "<":
        return bool(left < right)
    if op == ">=":
        return bool(left >= right)
    return bool(left <= right)
