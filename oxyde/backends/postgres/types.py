"""What psycopg binds and returns per value kind: the psycopg variant of the PostgreSQL dialect.

The rules, the same on write and read, so that a value reads back as the Python value
that was written:

- ``json``: any JSON value is wrapped in ``Jsonb`` (psycopg adapts no ``dict`` on its
  own); JSONB comes back already decoded. Floats of 1e16 and more are written out in
  full (``jsonb`` would read them back as ints); NaN and infinities are refused.
- ``array``: any sequence is bound as a list (a PostgreSQL array); enum items become
  their values, ints are bound as ``int8`` (the column's ``BIGINT``). An array of a
  PostgreSQL enum type, which psycopg returns as its text literal, is parsed back into
  a list of values.
- ``enum``: the member's ``.value``. psycopg would send the member *name*; the value
  goes out as text of unknown type, so PostgreSQL resolves it to the column's enum type
  without a cast.
- ``datetime``: a naive value binds as ``timestamp``, an aware one as ``timestamptz``.
  Every connection runs with ``TimeZone = 'UTC'``, so a ``TIMESTAMPTZ`` reads back
  aware in UTC (equal to the instant saved) and a ``TIMESTAMP`` reads back naive.
- ``decimal``, ``uuid``, ``bytes``, ``timedelta`` (``INTERVAL``), ``date``, ``time``:
  psycopg's own adapters are exact both ways.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int8

from oxyde.sql.dialects.base import Adapter, Dialect
from oxyde.sql.dialects.sqlite import json_dumps

__all__ = ["ADAPTERS", "CONVERTERS", "parse_array_literal", "psycopg_dialect"]


def _json(value: Any) -> Any:
    if value is None or isinstance(value, Jsonb):
        return value
    return Jsonb(value, dumps=jsonb_text)


def jsonb_text(value: Any) -> str:
    """JSON text whose numbers ``jsonb`` keeps as they were written.

    ``jsonb`` stores numbers as ``numeric`` and prints them without exponent: a float
    of 1e16 or more (always integral) would come back as an ``int``. Written out in full
    with a ``.0``, it keeps that scale and reads back as the same float.
    """
    text = json_dumps(value)
    # Python writes every float >= 1e16 with an exponent "e+"; without one, or when
    # it was only inside a string, the text is already exact
    if "e+" not in text:
        return text
    return "".join(_exact_json(value, []))


def _exact_json(value: Any, out: list[str]) -> list[str]:
    if type(value) is float and abs(value) >= 1e16:
        out.append(f"{int(value)}.0")
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            # json.dumps turns non-str keys into their JSON text; keep that
            out.append(json_dumps(key if isinstance(key, str) else json_dumps(key)))
            out.append(":")
            _exact_json(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _exact_json(item, out)
        out.append("]")
    else:
        out.append(json_dumps(value))
    return out


def _enum(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _array(value: Any) -> Any:
    if value is None or isinstance(value, str | bytes):
        return value
    # ints go out as int8: psycopg picks the smallest type that fits, and bigint[] has
    # no = operator with the smallint[] or integer[] that [0] would otherwise be
    return [
        item.value if isinstance(item, Enum) else Int8(item) if type(item) is int else item
        for item in value
    ]


def _array_in(value: Any) -> Any:
    # psycopg loads arrays of the built-in types as lists; an array of a PostgreSQL
    # enum (a type it was never told about) arrives as its text literal.
    if isinstance(value, str):
        return parse_array_literal(value)
    return value


def parse_array_literal(text: str) -> list[str | None]:
    """The items of a one-dimensional PostgreSQL array literal (``{a,"b c",NULL}``)."""
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not a PostgreSQL array literal: {text!r}")
    items: list[str | None] = []
    body = text[1:-1]
    i, n = 0, len(body)
    while i < n:
        if body[i] == '"':
            i += 1
            chars: list[str] = []
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                chars.append(body[i])
                i += 1
            items.append("".join(chars))
            i += 1  # the closing quote
        else:
            end = body.find(",", i)
            end = n if end == -1 else end
            word = body[i:end]
            items.append(None if word == "NULL" else word)
            i = end
        i += 1  # the comma
    return items


ADAPTERS: Mapping[str, Adapter] = {
    "json": _json,
    "enum": _enum,
    "array": _array,
}

CONVERTERS: Mapping[str, Adapter] = {
    "array": _array_in,
}

#: Kinds psycopg already returns as the Python value: the base dialect's converters for
#: them (which decode text) must not run a second time.
_DRIVER_DECODED = frozenset({"json"})


@cache
def psycopg_dialect(base: Dialect) -> Dialect:
    """``base`` (the PostgreSQL dialect) with the psycopg adapters and converters on top."""
    return dataclasses.replace(
        base,
        adapters={**base.adapters, **ADAPTERS},
        converters={
            **{k: v for k, v in base.converters.items() if k not in _DRIVER_DECODED},
            **CONVERTERS,
        },
    )
