"""Python annotations -> value kinds, sizes and the lookups each column accepts.

Also the one place that evaluates a class body's (possibly string) annotations before
Pydantic sees them, standing in placeholders for names that are not defined yet, so that
the model metaclass can tell which fields are relations to later models.
"""

from __future__ import annotations

import builtins
import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, NaiveDatetime
from pydantic.fields import FieldInfo

from oxyde.meta.metadata import (
    COMMON_LOOKUPS,
    DATE_LOOKUPS,
    DATETIME_LOOKUPS,
    ORDERED_LOOKUPS,
    STRING_LOOKUPS,
)

__all__ = [
    "JSON_LOOKUPS",
    "ForwardName",
    "TypeInfo",
    "core_type",
    "describe",
    "evaluate_annotation",
    "forward_name",
    "lookups_for",
    "size_constraints",
    "split_optional",
]

#: JSON columns: keys and paths are handled by the query layer (``data__key=...``).
JSON_LOOKUPS = ("exact", "isnull", "has_key")

_ORDERED_KINDS = frozenset({"int", "float", "decimal", "date", "datetime", "time", "timedelta"})

# Order matters: bool is an int, datetime is a date, str-enums are str.
_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "bool"),
    (int, "int"),
    (float, "float"),
    (Decimal, "decimal"),
    (str, "str"),
    (bytes, "bytes"),
    (bytearray, "bytes"),
    (dt.datetime, "datetime"),
    (dt.date, "date"),
    (dt.time, "time"),
    (dt.timedelta, "timedelta"),
    (uuid.UUID, "uuid"),
)


@dataclass(frozen=True)
class TypeInfo:
    """What a field's annotation means for its column."""

    kind: str
    #: the annotation without ``None`` and ``Annotated`` wrappers
    python_type: Any
    nullable: bool
    item_kind: str | None = None
    item_type: Any = None
    #: the Enum class of an enum column or of the items of an enum array
    enum_cls: type[enum.Enum] | None = None
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    #: an ``AwareDatetime`` column: it holds instants, read back aware in UTC
    timezone: bool = False


def split_optional(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """``(core, nullable, annotated_metadata)`` of an annotation.

    Strips ``X | None``, ``Optional[X]``, ``Annotated[X, ...]`` (collecting its metadata)
    and ``NewType`` layers in any nesting. A union of several non-None types is returned
    as is (the caller rejects it).
    """
    nullable = False
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation = args[0]
            metadata.extend(args[1:])
            continue
        if origin is typing.Union or origin is types.UnionType:
            args = typing.get_args(annotation)
            rest = [a for a in args if a is not type(None) and a is not None]
            if len(rest) < len(args):
                nullable = True
            if len(rest) == 1:
                annotation = rest[0]
                continue
            return annotation, nullable, metadata
        supertype = getattr(annotation, "__supertype__", None)
        if supertype is not None:
            annotation = supertype
            continue
        return annotation, nullable, metadata


def core_type(annotation: Any) -> Any:
    """The annotation with ``None``/``Annotated``/``NewType`` layers removed."""
    return split_optional(annotation)[0]


def size_constraints(metadata: Iterable[Any]) -> tuple[int | None, int | None, int | None]:
    """``(max_length, max_digits, decimal_places)`` from Pydantic/annotated-types metadata."""
    max_length = max_digits = decimal_places = None
    for item in metadata:
        if isinstance(item, FieldInfo):
            inner = size_constraints(item.metadata)
            max_length = inner[0] if inner[0] is not None else max_length
            max_digits = inner[1] if inner[1] is not None else max_digits
            decimal_places = inner[2] if inner[2] is not None else decimal_places
            continue
        value = getattr(item, "max_length", None)
        if isinstance(value, int):
            max_length = value
        value = getattr(item, "max_digits", None)
        if isinstance(value, int):
            max_digits = value
        value = getattr(item, "decimal_places", None)
        if isinstance(value, int):
            decimal_places = value
    return max_length, max_digits, decimal_places


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _check_enum(enum_cls: type[enum.Enum], where: str) -> None:
    if issubclass(enum_cls, int):
        raise TypeError(
            f"{where}: {enum_cls.__name__} is an integer enum; only str-valued enums can be "
            "stored (use `class X(str, Enum)` or StrEnum, or give db_type=...)"
        )
    bad = [m.name for m in enum_cls if not isinstance(m.value, str)]
    if bad:
        raise TypeError(
            f"{where}: {enum_cls.__name__} has non-str values ({', '.join(bad)}); only "
            "str-valued enums can be stored"
        )


def _scalar_kind(core: Any, where: str) -> str | None:
    """The kind of a non-container annotation, or None when it has no mapping."""
    if typing.get_origin(core) is typing.Literal:
        values = typing.get_args(core)
        if values and all(isinstance(v, str) for v in values):
            return "str"
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "int"
        return None
    if not isinstance(core, type):
        return None
    if core is AwareDatetime or core is NaiveDatetime:
        return "datetime"
    if issubclass(core, enum.Enum):
        _check_enum(core, where)
        return "enum"
    for cls, kind in _SCALARS:
        if issubclass(core, cls):
            return kind
    return None


def _container_kind(core: Any) -> str | None:
    origin = typing.get_origin(core) or core
    if origin is dict or origin is typing.Dict:  # noqa: UP006 - typing.Dict still seen in the wild
        return "json"
    if origin is list or origin is typing.List:  # noqa: UP006
        return "array"
    return None


def describe(
    annotation: Any,
    metadata: Iterable[Any] = (),
    *,
    where: str,
    db_type: str | None = None,
) -> TypeInfo:
    """Map a field annotation (and its Pydantic metadata) to a ``TypeInfo``.

    ``where`` ("Model.field") names the field in errors. An annotation with no mapping
    raises ``TypeError`` unless ``db_type`` is given, which makes the column kind "any".
    """
    core, nullable, inner_meta = split_optional(annotation)
    field_meta = list(metadata)
    kind = _scalar_kind(core, where)
    if kind is not None:
        max_length, max_digits, places = size_constraints([*field_meta, *inner_meta])
        return TypeInfo(
            kind=kind,
            python_type=core,
            nullable=nullable,
            enum_cls=core if kind == "enum" else None,
            max_length=max_length if kind == "str" else None,
            max_digits=max_digits if kind == "decimal" else None,
            decimal_places=places if kind == "decimal" else None,
            timezone=core is AwareDatetime,
        )
    container = _container_kind(core)
    if container == "json":
        return TypeInfo(kind="json", python_type=core, nullable=nullable)
    if container == "array":
        args = typing.get_args(core)
        item = args[0] if args else Any
        if item is Any:
            # A list of anything has no SQL array type; it is a JSON document.
            return TypeInfo(kind="json", python_type=core, nullable=nullable)
        item_core, item_nullable, item_meta = split_optional(item)
        item_kind = _scalar_kind(item_core, where)
        if item_kind is None and _container_kind(item_core) == "json":
            item_kind = "json"
        if item_kind is not None and not item_nullable:
            # For a list, Field(max_length=...) bounds the list; the column's sizes come
            # from the item annotation, e.g. list[Annotated[str, Field(max_length=50)]].
            max_length, max_digits, places = size_constraints(item_meta)
            return TypeInfo(
                kind="array",
                python_type=core,
                nullable=nullable,
                item_kind=item_kind,
                item_type=item_core,
                enum_cls=item_core if item_kind == "enum" else None,
                max_length=max_length if item_kind == "str" else None,
                max_digits=max_digits if item_kind == "decimal" else None,
                decimal_places=places if item_kind == "decimal" else None,
            )
    if db_type is not None:
        return TypeInfo(kind="any", python_type=core, nullable=nullable)
    if typing.get_origin(core) in (typing.Union, types.UnionType):
        problem = "a union of several types has no column type"
    else:
        problem = f"{_type_name(core)} has no column type"
    raise TypeError(
        f"{where}: {problem}; use one of int, float, bool, str, bytes, datetime, date, time, "
        "timedelta, UUID, Decimal, dict, list[T], a str Enum or a table Model, or give "
        "db_type=..."
    )


def lookups_for(kind: str, *, foreign_key: bool = False) -> tuple[str, ...]:
    """The lookups a column of ``kind`` accepts, in a stable order for error messages."""
    if kind == "json":
        return JSON_LOOKUPS
    found: list[str] = list(COMMON_LOOKUPS)
    if kind in _ORDERED_KINDS or foreign_key:
        found.extend(ORDERED_LOOKUPS)
    if kind == "str":
        found.extend(STRING_LOOKUPS)
    elif kind == "datetime":
        found.extend(DATETIME_LOOKUPS)
    elif kind == "date":
        found.extend(DATE_LOOKUPS)
    return tuple(found)


# -- evaluating class-body annotations before the class exists -----------------------------


class ForwardName:
    """Base of the placeholder classes that stand in for names not defined yet.

    A placeholder is a class (not an instance) so that ``Name | None``, ``Optional[Name]``
    and ``list[Name]`` evaluate as they will once the name exists.
    """

    __oxyde_forward__: str = ""


def forward_name(annotation: Any) -> str | None:
    """The missing name when ``annotation`` is a placeholder class, else None."""
    if isinstance(annotation, type) and issubclass(annotation, ForwardName):
        return annotation.__oxyde_forward__
    return None


class _LenientNamespace(dict[str, Any]):
    """Names for ``eval`` that turn any missing name into a placeholder class."""

    def __missing__(self, key: str) -> Any:
        placeholder = type(key, (ForwardName,), {"__oxyde_forward__": key})
        self[key] = placeholder
        return placeholder


def evaluate_annotation(annotation: Any, names: Mapping[str, Any]) -> Any:
    """Evaluate a (possibly string) annotation; undefined names become placeholders.

    Returns ``None`` when the annotation cannot be evaluated even so (an attribute of an
    undefined module, a syntax error...): such fields are left to Pydantic.
    """
    if not isinstance(annotation, str):
        if isinstance(annotation, typing.ForwardRef):
            annotation = annotation.__forward_arg__
        else:
            return annotation
    namespace = _LenientNamespace(vars(builtins))
    namespace.update(names)
    try:
        # Annotation strings come from the class body being defined, so evaluating them is
        # what typing.get_type_hints would do.
        return eval(annotation, {"__builtins__": builtins}, namespace)
    except Exception:  # any failure just means "not a relation we can see"
        return None
