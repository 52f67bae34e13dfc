"""The public Oxyde's migration file format, read into this package's schema dicts.

Its generator writes field dicts with a ``column_type`` spec (``{"kind": "string",
"length": 120}``) beside ``db_type``, ``nullable``, ``primary_key``, ``unique``, an SQL
``default``, ``auto_increment`` and the size keys; older files name the Python type
(``python_type``/``type``) instead. Indexes list ``fields``, and ``alter_column`` takes
those same keys. Everything here turns such a dict into the dict ``ColumnState`` /
``IndexState`` read, or raises ``ValueError`` naming the offending part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "PUBLIC_CHANGE_KEYS",
    "column_changes",
    "column_dict",
    "index_dict",
    "is_public_field",
    "is_public_file",
]

#: ``alter_column`` keys only the public Oxyde's files use
PUBLIC_CHANGE_KEYS = frozenset({"column_type", "python_type", "type"})

#: the public Oxyde's column kinds -> ours (and what the kind implies)
_KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "big_integer": ("int", {}),
    "integer": ("int", {}),
    "small_integer": ("int", {}),
    "double": ("float", {}),
    "float": ("float", {}),
    "boolean": ("bool", {}),
    "string": ("str", {}),
    "text": ("str", {}),
    "blob": ("bytes", {}),
    "date_time": ("datetime", {}),
    "date_time_utc": ("datetime", {"timezone": True}),
    "date": ("date", {}),
    "time": ("time", {}),
    "timedelta": ("timedelta", {}),
    "uuid": ("uuid", {}),
    "decimal": ("decimal", {}),
    "json": ("json", {}),
    "json_binary": ("json", {}),
    "enum": ("enum", {}),
    "array": ("array", {}),
}

#: older files: the Python type's name
_LEGACY_NAMES = {
    "int": "big_integer",
    "str": "string",
    "float": "double",
    "bool": "boolean",
    "bytes": "blob",
    "datetime": "date_time",
    "date": "date",
    "time": "time",
    "timedelta": "timedelta",
    "uuid": "uuid",
    "decimal": "decimal",
    "json": "json",
    "dict": "json",
}

_FIELD_KEYS = {
    "name",
    "column_type",
    "python_type",
    "type",
    "db_type",
    "nullable",
    "primary_key",
    "unique",
    "default",
    "auto_increment",
    "max_length",
    "max_digits",
    "decimal_places",
    "comment",
    "db_comment",
}

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_public_field(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` is a field dict in the public Oxyde's format."""
    return "kind" not in data and any(k in data for k in ("column_type", "python_type", "type"))


def _spec(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    spec = data.get("column_type")
    if spec is None:
        legacy = data.get("python_type", data.get("type"))
        if isinstance(legacy, str):
            name = legacy.strip().lower()
            if name.endswith("[]") or (name.startswith("list[") and name.endswith("]")):
                inner = name[:-2] if name.endswith("[]") else name[5:-1]
                return {"kind": "array", "item": {"kind": _LEGACY_NAMES.get(inner, "unknown")}}
            return {"kind": _LEGACY_NAMES.get(name, "unknown")}
        spec = {"kind": "unknown"}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("kind"), str):
        raise ValueError(f"{where}: column_type must be a dict with a 'kind', got {spec!r}")
    return dict(spec)


def _kind(
    spec: Mapping[str, Any], data: Mapping[str, Any], where: str
) -> tuple[str, dict[str, Any]]:
    name = spec["kind"]
    if name == "unknown" and data.get("db_type"):
        # A type only the verbatim db_type describes; it stays verbatim.
        return "any", {}
    if name not in _KINDS:
        raise ValueError(
            f"{where}: column_type kind {name!r} is not supported; "
            f"known kinds: {', '.join(sorted(_KINDS))}"
        )
    kind, extra = _KINDS[name]
    return kind, dict(extra)


def _literal(kind: str, sql: Any) -> tuple[str, Any]:
    """The public Oxyde's SQL default as ("default", python value) when it is a plain
    literal of the column's kind, else ("db_default", the SQL as written)."""
    if not isinstance(sql, str):
        return "default", sql
    text = sql.strip()
    upper = text.upper()
    if kind == "bool":
        if upper in ("1", "TRUE", "'1'", "'T'", "'TRUE'"):
            return "default", True
        if upper in ("0", "FALSE", "'0'", "'F'", "'FALSE'"):
            return "default", False
    if kind in ("int", "float", "decimal") and _NUMBER.fullmatch(text):
        if kind == "int" and re.fullmatch(r"[+-]?\d+", text):
            return "default", int(text)
        if kind == "float":
            return "default", float(text)
        if kind == "decimal":
            try:
                return "default", Decimal(text)
            except InvalidOperation:
                pass
    if kind in ("str", "enum") and len(text) >= 2 and text[0] == text[-1] == "'":
        inner = text[1:-1]
        if "'" not in inner.replace("''", ""):
            return "default", inner.replace("''", "'")
    return "db_default", text


def column_dict(data: Mapping[str, Any], where: str = "field") -> dict[str, Any]:
    """A public Oxyde field dict as the dict ``ColumnState.from_dict`` reads."""
    name = data.get("name")
    where = f"{where} {name!r}"
    unknown = sorted(set(data) - _FIELD_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_FIELD_KEYS))}"
        )
    spec = _spec(data, where)
    kind, out = _kind(spec, data, where)
    out["name"] = name
    out["kind"] = kind
    db_type = data.get("db_type")
    if spec["kind"] == "text" and not db_type:
        db_type = "TEXT"
    if db_type:
        out["db_type"] = db_type
    if kind == "str":
        length = data.get("max_length") or spec.get("length")
        if length is not None:
            out["max_length"] = int(length)
    if kind == "decimal":
        digits = data.get("max_digits", spec.get("precision"))
        places = data.get("decimal_places", spec.get("scale"))
        if digits is not None:
            out["max_digits"] = int(digits)
        if places is not None:
            out["decimal_places"] = int(places)
    if kind == "enum":
        out["enum"] = spec.get("name")
    if kind == "array":
        item = spec.get("item")
        item_kind = item.get("kind") if isinstance(item, Mapping) else None
        if item_kind not in _KINDS:
            raise ValueError(f"{where}: array item kind {item_kind!r} is not supported")
        out["item_kind"] = _KINDS[item_kind][0]
        if item_kind == "enum" and isinstance(item, Mapping):
            out["enum"] = item.get("name")
    primary_key = bool(data.get("primary_key", False))
    out["primary_key"] = primary_key
    # The public Oxyde's integer keys are always generated (BIGSERIAL, INTEGER PRIMARY
    # KEY, AUTO_INCREMENT) whatever its auto_increment flag says.
    out["auto_increment"] = bool(data.get("auto_increment")) or (primary_key and kind == "int")
    out["nullable"] = bool(data.get("nullable", False)) and not primary_key
    out["unique"] = bool(data.get("unique", False))
    comment = data.get("comment", data.get("db_comment"))
    if comment:
        out["comment"] = comment
    default = data.get("default")
    if default is not None:
        key, value = _literal(kind, default)
        out[key] = value
    return out


_CHANGE_KEYS = {
    "column_type",
    "python_type",
    "type",
    "db_type",
    "nullable",
    "unique",
    "default",
    "max_length",
    "max_digits",
    "decimal_places",
}


def column_changes(kind: str, changes: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``alter_column`` changes in the public Oxyde's keys (``column_type``, an SQL
    ``default``) as this package's, for a column currently of ``kind``."""
    unknown = sorted(set(changes) - _CHANGE_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown change(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(_CHANGE_KEYS))}"
        )
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("column_type", "python_type", "type"):
            spec = _spec({key: value}, where)
            kind, extra = _kind(spec, changes, where)
            out["kind"] = kind
            out.update(extra)
            if spec["kind"] == "text" and not changes.get("db_type"):
                out["db_type"] = "TEXT"
            if kind == "str" and spec.get("length") is not None:
                out.setdefault("max_length", int(spec["length"]))
            if kind == "decimal" and spec.get("precision") is not None:
                out.setdefault("max_digits", int(spec["precision"]))
                if spec.get("scale") is not None:
                    out.setdefault("decimal_places", int(spec["scale"]))
        elif key != "default":
            out[key] = value
    if "default" in changes:
        value = changes["default"]
        if value is None:
            out["default"] = None
            out["db_default"] = None
        else:
            target, converted = _literal(out.get("kind", kind), value)
            out[target] = converted
            out["db_default" if target == "default" else "default"] = None
    return out


def index_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """A public Oxyde index dict (``fields`` instead of ``columns``) as ours."""
    if "fields" not in data or "columns" in data:
        return dict(data)
    out = {k: v for k, v in data.items() if k != "fields"}
    out["columns"] = data["fields"]
    if out.get("method") is None:
        out.pop("method", None)
    return out


def is_public_file(module: Any) -> bool:
    """Whether a loaded migration module was written by the public Oxyde's generator."""
    doc = getattr(module, "__doc__", None) or ""
    return doc.lstrip().startswith("Auto-generated migration.")
