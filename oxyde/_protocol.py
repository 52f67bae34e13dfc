"""The msgpack forms: result rows for ``all(mode="msgpack")`` and the query IR.

The only module that imports msgpack. Nothing on the path between the query layer and
the compiled code is serialised; these forms exist for callers that want bytes (caches,
services) and for persisting or inspecting a query.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import msgpack  # type: ignore[import-untyped]

#: ext type codes of the values msgpack has no native form for
_EXT_DATETIME = 1
_EXT_DATE = 2
_EXT_TIME = 3
_EXT_TIMEDELTA = 4
_EXT_UUID = 5
_EXT_DECIMAL = 6
_EXT_TUPLE = 7


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return msgpack.ExtType(_EXT_DATETIME, value.isoformat().encode())
    if isinstance(value, dt.date):
        return msgpack.ExtType(_EXT_DATE, value.isoformat().encode())
    if isinstance(value, dt.time):
        return msgpack.ExtType(_EXT_TIME, value.isoformat().encode())
    if isinstance(value, dt.timedelta):
        micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
        return msgpack.ExtType(_EXT_TIMEDELTA, str(micros).encode())
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(_EXT_UUID, value.bytes)
    if isinstance(value, decimal.Decimal):
        return msgpack.ExtType(_EXT_DECIMAL, str(value).encode())
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return msgpack.ExtType(_EXT_TUPLE, pack(list(value)))
    raise TypeError(f"cannot encode {type(value).__name__} as msgpack")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_DATETIME:
        return dt.datetime.fromisoformat(data.decode())
    if code == _EXT_DATE:
        return dt.date.fromisoformat(data.decode())
    if code == _EXT_TIME:
        return dt.time.fromisoformat(data.decode())
    if code == _EXT_TIMEDELTA:
        return dt.timedelta(microseconds=int(data.decode()))
    if code == _EXT_UUID:
        return uuid.UUID(bytes=data)
    if code == _EXT_DECIMAL:
        return decimal.Decimal(data.decode())
    if code == _EXT_TUPLE:
        return tuple(unpack(data))
    return msgpack.ExtType(code, data)


def pack(value: Any) -> bytes:
    """Encode rows, IR or any nest of plain values; tuples survive as tuples."""
    return msgpack.packb(value, default=_default, use_bin_type=True, strict_types=True)  # type: ignore[no-any-return]


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


def pack_rows(rows: list[dict[str, Any]]) -> bytes:
    return pack(rows)


def ir_to_msgpack(ir: dict[str, Any]) -> bytes:
    """A query's ``to_ir()`` dict as bytes; ``ir_from_msgpack`` gives it back equal."""
    return pack(ir)


def ir_from_msgpack(data: bytes) -> dict[str, Any]:
    result = unpack(data)
    if not isinstance(result, dict) or result.get("proto") != 1:
        raise ValueError("not an oxyde query IR (proto 1)")
    return result
