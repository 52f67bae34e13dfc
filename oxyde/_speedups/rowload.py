"""Rows -> model instances, dicts, tuples or scalars: the per-row loop.

Cython pure-Python mode: this file is both the compiled module and its pure fallback.
It takes plain data only: a plan tuple prepared once per result shape by
``oxyde/queries/rowplan.py`` and the driver's rows (tuples). Each function is one
Python-visible call per result, so a profile names the stage even without ``--native``.

Instances are built the way ``BaseModel.model_construct`` builds them (``__dict__``,
``__pydantic_fields_set__``, ``__pydantic_extra__``, ``__pydantic_private__``), from
values the converters have already turned into the fields' Python types; the result has
the same observable state ``model_validate`` gives for those values, which the
equivalence tests check. Models that need real validation never come here.
"""

try:
    import cython
except ModuleNotFoundError:  # pure-Python install without Cython
    from oxyde._speedups import _cython_shim as cython  # type: ignore[no-redef]

import datetime as _dt
import decimal as _decimal
import enum as _enum
import struct
import uuid as _uuid
from typing import Any

from pydantic_core import PydanticUndefined as _UNDEFINED

if cython.compiled:
    # Compiled, instances are built through the C API: ``object.__setattr__`` called from
    # C still goes through a wrapper call per attribute, which cost more than all the rest
    # of a row (bench/micro: rows.*). The pure-Python branch does the same in Python.
    from cython.cimports.cpython.dict import PyDict_Copy  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.object import (  # type: ignore[import-untyped, import-not-found]
        PyObject_GenericSetAttr,
        PyObject_GenericSetDict,
    )
    from cython.cimports.cpython.set import PySet_New  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.type import PyType_GenericNew  # type: ignore[import-untyped, import-not-found]

_object_setattr = object.__setattr__
_object_new = object.__new__


def _is_compiled() -> bool:
    return bool(cython.compiled)


@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t, src=cython.Py_ssize_t, plain=cython.bint)
def load_models(cls: Any, plan: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """Build one ``cls`` instance per row.

    plan = (names, sources, convs, defaults, fields_set, private[, template]):
      names     every model field, in declaration order
      sources   per field: the row index holding it, -1 for a default value
                (``defaults[i]``), -2 for a default factory (``defaults[i]()``)
      convs     per field: converter or None (applied to non-NULL row values)
      fields_set frozenset of the field names the row provides
      private   None, or a tuple of (name, private attribute) to initialise
      template  optional, ``dict.fromkeys(names)``: copied for each row, never changed
    """
    names: tuple[Any, ...] = plan[0]
    sources: tuple[Any, ...] = plan[1]
    convs: tuple[Any, ...] = plan[2]
    defaults: tuple[Any, ...] = plan[3]
    fields_set: frozenset[str] = plan[4]
    private: Any = plan[5]
    n = len(names)
    new = cls.__new__
    # A model without its own __new__ is only allocated: object.__new__ would also lay
    # out an instance-attribute area that the __dict__ set below replaces at once.
    plain = new is _object_new
    # Every row's dict has the same keys: copying one sized for them skips the resizes
    # of growing a dict one key at a time.
    template: dict[str, Any] = plan[6] if len(plan) > 6 else dict.fromkeys(names)
    out: list[Any] = []
    for row in rows:
        # drivers return tuples; typed, a column is read without a generic item lookup
        values: tuple[Any, ...] = row if type(row) is tuple else tuple(row)
        d: dict[str, Any] = PyDict_Copy(template) if cython.compiled else {}
        for i in range(n):
            src = sources[i]
            if src >= 0:
                value = values[src]
                conv = convs[i]
                if conv is not None and value is not None:
                    value = conv(value)
            elif src == -1:
                value = defaults[i]
            else:
                value = defaults[i]()
            d[names[i]] = value
        state = None if private is None else _private_values(private)
        if cython.compiled:
            obj = PyType_GenericNew(cls, (), None) if plain else new(cls)
            PyObject_GenericSetDict(obj, d, cython.NULL)
            PyObject_GenericSetAttr(obj, "__pydantic_fields_set__", PySet_New(fields_set))
            PyObject_GenericSetAttr(obj, "__pydantic_extra__", None)
            PyObject_GenericSetAttr(obj, "__pydantic_private__", state)
        else:
            obj = new(cls)
            _object_setattr(obj, "__dict__", d)
            _object_setattr(obj, "__pydantic_fields_set__", set(fields_set))
            _object_setattr(obj, "__pydantic_extra__", None)
            _object_setattr(obj, "__pydantic_private__", state)
        out.append(obj)
    return out


def _private_values(private: tuple[Any, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, attr in private:
        default = attr.get_default(call_default_factory=True)
        if default is not _UNDEFINED:
            values[name] = default
    return values


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def load_dicts(names: tuple[str, ...], convs: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """One dict per row: ``{names[i]: convs[i](row[i])}``."""
    n = len(names)
    out: list[Any] = []
    for row in rows:
        d: dict[str, Any] = {}
        for i in range(n):
            value = row[i]
            conv = convs[i]
            if conv is not None and value is not None:
                value = conv(value)
            d[names[i]] = value
        out.append(d)
    return out


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def load_tuples(convs: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """One tuple per row, converted column by column."""
    n = len(convs)
    active = False
    for i in range(n):
        if convs[i] is not None:
            active = True
    if not active:
        return [tuple(row) for row in rows]
    out: list[Any] = []
    for row in rows:
        items: list[Any] = []
        for i in range(n):
            value = row[i]
            conv = convs[i]
            if conv is not None and value is not None:
                value = conv(value)
            items.append(value)
        out.append(tuple(items))
    return out


def load_scalars(conv: Any, rows: list[Any]) -> list[Any]:
    """The first column of every row."""
    if conv is None:
        return [row[0] for row in rows]
    out: list[Any] = []
    for row in rows:
        value = row[0]
        out.append(conv(value) if value is not None else None)
    return out


# -- msgpack ---------------------------------------------------------------------------------
#
# ``all(mode="msgpack")`` packs rows straight from the driver's tuples: no dict per row.
# The bytes equal ``msgpack.packb(rows_as_dicts, use_bin_type=True, strict_types=True,
# default=...)`` with the ext types of ``oxyde/_protocol.py`` (a copy of its codes, as this
# module imports nothing from oxyde; tests/speedups checks both agree).

_EXT_DATETIME = 1
_EXT_DATE = 2
_EXT_TIME = 3
_EXT_TIMEDELTA = 4
_EXT_UUID = 5
_EXT_DECIMAL = 6
_EXT_TUPLE = 7

_pack_double = struct.Struct(">d").pack
#: nesting depth of values (JSON documents) before giving up, as msgpack does
_MAX_DEPTH = 511


@cython.cfunc
def _header(out: bytearray, n: Any, fix: cython.int, b16: cython.int, b32: cython.int) -> None:
    """A map/array header: ``fix | n`` up to 15 items, then 16- or 32-bit lengths."""
    if n < 16:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out.append(b16)
        out += n.to_bytes(2, "big")
    elif n <= 0xFFFFFFFF:
        out.append(b32)
        out += n.to_bytes(4, "big")
    else:
        raise ValueError("too many items for msgpack")


@cython.cfunc
def _pack_int(out: bytearray, v: Any) -> None:
    if v >= 0:
        if v < 0x80:
            out.append(v)
        elif v <= 0xFF:
            out.append(0xCC)
            out.append(v)
        elif v <= 0xFFFF:
            out.append(0xCD)
            out += v.to_bytes(2, "big")
        elif v <= 0xFFFFFFFF:
            out.append(0xCE)
            out += v.to_bytes(4, "big")
        elif v <= 0xFFFFFFFFFFFFFFFF:
            out.append(0xCF)
            out += v.to_bytes(8, "big")
        else:
            raise TypeError("cannot encode int as msgpack (out of the 64-bit range)")
    elif v >= -32:
        out.append(v & 0xFF)
    elif v >= -0x80:
        out.append(0xD0)
        out += v.to_bytes(1, "big", signed=True)
    elif v >= -0x8000:
        out.append(0xD1)
        out += v.to_bytes(2, "big", signed=True)
    elif v >= -0x80000000:
        out.append(0xD2)
        out += v.to_bytes(4, "big", signed=True)
    elif v >= -0x8000000000000000:
        out.append(0xD3)
        out += v.to_bytes(8, "big", signed=True)
    else:
        raise TypeError("cannot encode int as msgpack (out of the 64-bit range)")


@cython.cfunc
def _pack_str(out: bytearray, s: str) -> None:
    data = s.encode("utf-8")
    n = len(data)
    if n < 32:
        out.append(0xA0 | n)
    elif n <= 0xFF:
        out.append(0xD9)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0xDA)
        out += n.to_bytes(2, "big")
    else:
        out.append(0xDB)
        out += n.to_bytes(4, "big")
    out += data


@cython.cfunc
def _pack_bin(out: bytearray, data: Any) -> None:
    n = len(data)
    if n <= 0xFF:
        out.append(0xC4)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0xC5)
        out += n.to_bytes(2, "big")
    else:
        out.append(0xC6)
        out += n.to_bytes(4, "big")
    out += data


@cython.cfunc
def _pack_ext(out: bytearray, code: cython.int, data: bytes) -> None:
    n = len(data)
    if n == 1:
        out.append(0xD4)
    elif n == 2:
        out.append(0xD5)
    elif n == 4:
        out.append(0xD6)
    elif n == 8:
        out.append(0xD7)
    elif n == 16:
        out.append(0xD8)
    elif n <= 0xFF:
        out.append(0xC7)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0xC8)
        out += n.to_bytes(2, "big")
    else:
        out.append(0xC9)
        out += n.to_bytes(4, "big")
    out.append(code)
    out += data


@cython.cfunc
def _pack_value(out: bytearray, v: Any, depth: cython.int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("value nested too deeply to pack as msgpack")
    t = type(v)
    if v is None:
        out.append(0xC0)
    elif t is bool:
        out.append(0xC3 if v else 0xC2)
    elif t is int:
        _pack_int(out, v)
    elif t is float:
        out.append(0xCB)
        out += _pack_double(v)
    elif t is str:
        _pack_str(out, v)
    elif t is bytes or t is bytearray:
        _pack_bin(out, v)
    elif t is memoryview:
        _pack_bin(out, bytes(v))
    elif t is dict:
        _header(out, len(v), 0x80, 0xDE, 0xDF)
        for key, item in v.items():
            _pack_value(out, key, depth + 1)
            _pack_value(out, item, depth + 1)
    elif t is list:
        _header(out, len(v), 0x90, 0xDC, 0xDD)
        for item in v:
            _pack_value(out, item, depth + 1)
    else:
        _pack_other(out, v, depth)


@cython.cfunc
def _pack_other(out: bytearray, v: Any, depth: cython.int) -> None:
    """What msgpack has no native form for (``_protocol._default``)."""
    if isinstance(v, _dt.datetime):
        _pack_ext(out, _EXT_DATETIME, v.isoformat().encode())
    elif isinstance(v, _dt.date):
        _pack_ext(out, _EXT_DATE, v.isoformat().encode())
    elif isinstance(v, _dt.time):
        _pack_ext(out, _EXT_TIME, v.isoformat().encode())
    elif isinstance(v, _dt.timedelta):
        micros = (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds
        _pack_ext(out, _EXT_TIMEDELTA, str(micros).encode())
    elif isinstance(v, _uuid.UUID):
        _pack_ext(out, _EXT_UUID, v.bytes)
    elif isinstance(v, _decimal.Decimal):
        _pack_ext(out, _EXT_DECIMAL, str(v).encode())
    elif isinstance(v, _enum.Enum):
        _pack_value(out, v.value, depth + 1)
    elif isinstance(v, tuple):
        inner = bytearray()
        _pack_value(inner, list(v), depth + 1)
        _pack_ext(out, _EXT_TUPLE, bytes(inner))
    else:
        raise TypeError(f"cannot encode {type(v).__name__} as msgpack")


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def pack_rows(names: tuple[str, ...], convs: tuple[Any, ...], rows: list[Any]) -> bytes:
    """msgpack bytes of the rows as a list of maps ``{names[i]: convs[i](row[i])}``."""
    n = len(names)
    keys: list[bytes] = []
    for i in range(n):
        key = bytearray()
        _pack_str(key, names[i])
        keys.append(bytes(key))
    row_header = bytearray()
    _header(row_header, n, 0x80, 0xDE, 0xDF)
    head = bytes(row_header)
    out = bytearray()
    _header(out, len(rows), 0x90, 0xDC, 0xDD)
    for row in rows:
        out += head
        for i in range(n):
            out += keys[i]
            value = row[i]
            conv = convs[i]
            if conv is not None and value is not None:
                value = conv(value)
            _pack_value(out, value, 0)
    return bytes(out)
