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


# ExtType's own constructor checks its arguments in Python, a call that cost as much as the
# encoding itself; the codes and payloads here are known to be valid.
_ext_new = tuple.__new__
_ExtType = msgpack.ExtType


def _datetime(value: dt.datetime) -> Any:
    return _ext_new(_ExtType, (_EXT_DATETIME, value.isoformat().encode()))


def _date(value: dt.date) -> Any:
    return _ext_new(_ExtType, (_EXT_DATE, value.isoformat().encode()))


def _time(value: dt.time) -> Any:
    return _ext_new(_ExtType, (_EXT_TIME, value.isoformat().encode()))


def _timedelta(value: dt.timedelta) -> Any:
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    return _ext_new(_ExtType, (_EXT_TIMEDELTA, str(micros).encode()))


def _uuid(value: uuid.UUID) -> Any:
    return _ext_new(_ExtType, (_EXT_UUID, value.bytes))


def _decimal(value: decimal.Decimal) -> Any:
    return _ext_new(_ExtType, (_EXT_DECIMAL, str(value).encode()))


def _tuple(value: tuple[Any, ...]) -> Any:
    return _ext_new(_ExtType, (_EXT_TUPLE, pack(list(value))))


#: the encoders of the exact types a driver returns: one dict lookup per value
_BY_TYPE: dict[type, Any] = {
    dt.datetime: _datetime,
    dt.date: _date,
    dt.time: _time,
    dt.timedelta: _timedelta,
    uuid.UUID: _uuid,
    decimal.Decimal: _decimal,
    tuple: _tuple,
}


def _default(value: Any) -> Any:
    """msgpack's callback for what it has no native form for (``strict_types``: also
    subclasses of int, str, list, ...)."""
    encode = _BY_TYPE.get(type(value))
    if encode is not None:
        return encode(value)
    # subclasses, in the order that keeps a datetime from passing as a date
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return _date(value)
    if isinstance(value, dt.time):
        return _time(value)
    if isinstance(value, dt.timedelta):
        return _timedelta(value)
    if isinstance(value, uuid.UUID):
        return _uuid(value)
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return _tuple(value)
    if type(value) is int:  # msgpack packs the others itself
        raise TypeError("cannot encode int as msgpack (out of the 64-bit range)")
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
    """``all(mode="msgpack")``: the rows (as ``rowload.load_dicts`` makes them) as one
    msgpack array of maps."""
    return pack(rows)


def ir_to_msgpack(ir: dict[str, Any]) -> bytes:
    """A query's ``to_ir()`` dict as bytes; ``ir_from_msgpack`` gives it back equal."""
    return pack(ir)


def ir_from_msgpack(data: bytes) -> dict[str, Any]:
    result = unpack(data)
    if not isinstance(result, dict) or result.get("proto") != 1:
        raise ValueError("not an oxyde query IR (proto 1)")
    return result
