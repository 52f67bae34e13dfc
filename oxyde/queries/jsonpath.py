"""JSON key lookups on ``dict`` fields: ``data__key=``, ``data__a__b__gt=``, ``data__has_key=``.

A lookup key that goes past a JSON column names a path inside the stored document:
every part after the field is a key (a part made of ASCII digits indexes an array), and
a last part that is one of ``JSON_KEY_LOOKUPS`` is the lookup. The keys are bound as one
parameter (they never reach the SQL text), so any string is a valid key
except an empty one or one holding NUL, which no backend can store in a JSON document.

Comparisons are typed by the Python value: an int or float matches JSON numbers only,
a str JSON strings only, a bool JSON booleans only, and ``None`` a JSON null; a number is
never compared with a string. ``isnull=True`` means the key is missing (a JSON null
counts as present, as in Django; a NULL document has no keys), ``has_key`` that it is
present.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from oxyde.exceptions import FieldLookupError, FieldLookupValueError
from oxyde.meta.metadata import Column

if TYPE_CHECKING:
    from oxyde.queries.resolve import Scope

Node = tuple[Any, ...]

#: lookups on the value at a JSON key path, in a stable order for error messages
JSON_KEY_LOOKUPS = ("exact", "ne", "gt", "gte", "lt", "lte", "in", "isnull", "has_key")

_OPS = {"exact": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def is_key_path(column: Column, rest: Sequence[str]) -> bool:
    """Whether the parts after a field name a path inside its JSON document."""
    if column.kind != "json" or not rest:
        return False
    # the whole document: data=..., data__exact=..., data__isnull=...
    return not (len(rest) == 1 and rest[0] in ("exact", "isnull"))


def key_condition(
    scope: Scope, column: Column, expr: Node, rest: Sequence[str], value: Any
) -> Node:
    """``data__<keys>[__lookup]=value`` -> a condition node."""
    where = f"{scope.meta.model.__name__}.{column.name}"
    parts = list(rest)
    if parts[-1] in JSON_KEY_LOOKUPS and (len(parts) > 1 or parts[-1] == "has_key"):
        lookup = parts.pop()
    else:
        lookup = "exact"
    path: list[str | int] = [_key(where, part) for part in parts]
    label = f"{where}__{'__'.join(rest)}"
    if lookup == "has_key":
        if not isinstance(value, str):
            raise FieldLookupValueError(f"{label} takes a key (a string), got {value!r}")
        path.append(_key(where, value, plain=True))
        return ("json_has", expr, _path(scope, path))
    idx = _path(scope, path)
    if lookup == "isnull":
        if not isinstance(value, bool):
            raise FieldLookupValueError(f"{label} takes True or False, got {value!r}")
        has: Node = ("json_has", expr, idx)
        return ("not", has) if value else has
    if lookup == "in":
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise FieldLookupValueError(f"{label} takes a list of values, got {value!r}")
        items = [_compare(scope, label, "exact", expr, idx, item) for item in value]
        if not items:
            return ("const", False)
        return items[0] if len(items) == 1 else ("or", tuple(items))
    return _compare(scope, label, lookup, expr, idx, value)


def _compare(scope: Scope, label: str, lookup: str, expr: Node, idx: int, value: Any) -> Node:
    op = _OPS[lookup]
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        if lookup not in ("exact", "ne"):
            raise FieldLookupValueError(f"{label}: None is only compared with exact or ne")
        is_null: Node = ("json_cmp", "=", expr, idx, "null", None)
        return ("not", is_null) if lookup == "ne" else is_null
    if isinstance(value, bool):
        if lookup not in ("exact", "ne"):
            raise FieldLookupValueError(f"{label}: booleans are only compared with exact or ne")
        rhs = scope.param("str", "true" if value else "false")
        return ("json_cmp", op, expr, idx, "bool", rhs)
    if isinstance(value, int):
        return ("json_cmp", op, expr, idx, "num", scope.param("int", value))
    if isinstance(value, (float, decimal.Decimal)):
        # JSON numbers are doubles on two of the three backends
        return ("json_cmp", op, expr, idx, "num", scope.param("float", float(value)))
    if isinstance(value, str):
        return ("json_cmp", op, expr, idx, "str", scope.param("str", value))
    raise FieldLookupValueError(
        f"{label} compares JSON values with a str, int, float, bool or None, got {value!r}"
    )


def _key(where: str, part: str, *, plain: bool = False) -> str | int:
    if not part:
        raise FieldLookupError(f"{where}: a JSON key path cannot have an empty key")
    if "\x00" in part:
        raise FieldLookupError(f"{where}: a JSON key cannot contain NUL ({part!r})")
    if not plain and part.isascii() and part.isdigit():
        return int(part)
    return part


def _path(scope: Scope, path: list[str | int]) -> int:
    scope.values.append(tuple(path))
    return len(scope.values) - 1
