"""Python annotations -> column kinds, nullability, sizes and lookups."""

from __future__ import annotations

import datetime as dt
import enum
import typing
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType, Optional

import pytest
from pydantic import StringConstraints, condecimal, constr

from oxyde.meta.metadata import (
    COMMON_LOOKUPS,
    DATE_LOOKUPS,
    DATETIME_LOOKUPS,
    ORDERED_LOOKUPS,
    STRING_LOOKUPS,
    Column,
)
from oxyde.meta.registry import get_meta
from oxyde.meta.types import describe, lookups_for
from oxyde.models import Field, Model, clear_registry, register_table, registered_tables


@pytest.fixture(autouse=True)
def isolated_registry() -> Iterator[None]:
    saved = list(registered_tables().values())
    clear_registry()
    yield
    clear_registry()
    for model in saved:
        register_table(model)


class Color(str, enum.Enum):  # noqa: UP042 - the classic spelling must work too
    RED = "red"
    BLUE = "blue"


class Mood(enum.StrEnum):
    HAPPY = "happy"


class Plain(enum.Enum):
    A = "a"


class Level(enum.IntEnum):
    LOW = 1


class Mixed(enum.Enum):
    A = "a"
    B = 2


UserId = NewType("UserId", int)


def column(annotation: Any, field: Any = None, **extra: Any) -> Column:
    """The column that one field annotated ``annotation`` becomes."""
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": "TypeProbe",
        "__annotations__": {"id": Optional[int], "value": annotation},  # noqa: UP045
        "id": Field(default=None, db_pk=True),
        "Meta": type("Meta", (), {"is_table": True}),
        **extra,
    }
    if field is not None:
        namespace["value"] = field
    model = type(Model)("TypeProbe", (Model,), namespace)
    return get_meta(model).columns["value"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("annotation", "kind", "python_type"),
    [
        (int, "int", int),
        (float, "float", float),
        (bool, "bool", bool),
        (str, "str", str),
        (bytes, "bytes", bytes),
        (dt.datetime, "datetime", dt.datetime),
        (dt.date, "date", dt.date),
        (dt.time, "time", dt.time),
        (dt.timedelta, "timedelta", dt.timedelta),
        (uuid.UUID, "uuid", uuid.UUID),
        (Decimal, "decimal", Decimal),
        (dict, "json", dict),
        (dict[str, int], "json", dict[str, int]),
        (typing.Dict[str, Any], "json", typing.Dict[str, Any]),  # noqa: UP006
        (list, "json", list),
        (list[Any], "json", list[Any]),
        (Color, "enum", Color),
        (Mood, "enum", Mood),
        (Plain, "enum", Plain),
        (Literal["a", "b"], "str", Literal["a", "b"]),
        (UserId, "int", int),
        (Annotated[int, "meta"], "int", int),
        (constr(max_length=3), "str", str),
    ],
)
def test_annotation_maps_to_kind(annotation: Any, kind: str, python_type: Any) -> None:
    col = column(annotation, Field(default=None))
    assert (col.kind, col.python_type) == (kind, python_type)
    assert col.enum_cls is (python_type if kind == "enum" else None)


@pytest.mark.parametrize(
    ("annotation", "item_kind", "item_type"),
    [
        (list[int], "int", int),
        (list[str], "str", str),
        (list[uuid.UUID], "uuid", uuid.UUID),
        (list[Decimal], "decimal", Decimal),
        (list[dt.date], "date", dt.date),
        (list[Color], "enum", Color),
        (list[dict[str, Any]], "json", dict[str, Any]),
    ],
)
def test_list_maps_to_array_with_item_kind(annotation: Any, item_kind: str, item_type: Any) -> None:
    col = column(annotation, Field(default_factory=list))
    assert (col.kind, col.item_kind, col.item_type, col.python_type) == (
        "array",
        item_kind,
        item_type,
        annotation,
    )
    assert col.enum_cls is (Color if item_kind == "enum" else None)


def test_bool_is_not_int_and_datetime_is_not_date() -> None:
    assert column(bool, Field(default=False)).kind == "bool"
    assert column(dt.datetime, Field(default=None)).kind == "datetime"


def test_sizes_come_from_pydantic_constraints() -> None:
    col = column(str, Field(default="", max_length=40))
    assert col.max_length == 40
    assert column(str, Field(default="")).max_length is None
    assert (
        column(Annotated[str, StringConstraints(max_length=12)], Field(default="")).max_length == 12
    )
    col = column(Decimal, Field(default=Decimal(0), max_digits=10, decimal_places=2))
    assert (col.max_digits, col.decimal_places) == (10, 2)
    col = column(condecimal(max_digits=5, decimal_places=1), Field(default=Decimal(0)))
    assert (col.max_digits, col.decimal_places) == (5, 1)
    col = column(Optional[Annotated[str, Field(max_length=7)]], Field(default=None))  # noqa: UP045
    assert (col.max_length, col.nullable) == (7, True)


def test_array_sizes_come_from_the_item_annotation() -> None:
    # On a list, Pydantic's max_length bounds the list, not the strings in it.
    col = column(
        list[Annotated[str, Field(max_length=50)]], Field(default_factory=list, max_length=3)
    )
    assert (col.kind, col.item_kind, col.max_length) == ("array", "str", 50)


@pytest.mark.parametrize(
    ("annotation", "field", "nullable"),
    [
        (int, Field(default=0), False),
        (int | None, Field(default=None), True),
        (Optional[int], Field(default=None), True),  # noqa: UP045
        (Annotated[int | None, "x"], Field(default=None), True),
        (int | None, Field(default=None, db_nullable=False), False),
        (int, Field(default=0, db_nullable=True), True),
        (str | None, Field(default="x"), True),
    ],
)
def test_nullability(annotation: Any, field: Any, nullable: bool) -> None:
    assert column(annotation, field).nullable is nullable


def test_primary_keys_are_never_nullable_and_int_keys_auto_increment() -> None:
    class PkInt(Model):
        id: int | None = Field(default=None, db_pk=True)

        class Meta:
            is_table = True

    class PkUuid(Model):
        id: uuid.UUID = Field(default_factory=uuid.uuid4, db_pk=True)

        class Meta:
            is_table = True

    pk = get_meta(PkInt).pk
    assert pk is not None and pk.nullable is False and pk.auto_increment is True
    pk = get_meta(PkUuid).pk
    assert pk is not None and pk.kind == "uuid" and pk.auto_increment is False


def test_int_enum_is_rejected_at_class_definition() -> None:
    with pytest.raises(TypeError, match=r"TypeProbe.value: Level is an integer enum"):
        column(Level, Field(default=Level.LOW))


def test_enum_with_non_str_values_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"TypeProbe.value: Mixed has non-str values \(B\)"):
        column(Mixed, Field(default=Mixed.A))


@pytest.mark.parametrize(
    "annotation",
    [set[int], tuple[int, int], int | str, Any, list[list[int]], list[int | None], complex],
)
def test_unknown_annotation_is_rejected_naming_the_field(annotation: Any) -> None:
    with pytest.raises(TypeError, match=r"TypeProbe.value: .* no column type.*db_type"):
        column(annotation, Field(default=None))


def test_unknown_annotation_with_db_type_is_kind_any() -> None:
    col = column(set[int], Field(default_factory=set, db_type="TEXT"))
    assert (col.kind, col.db_type, col.python_type) == ("any", "TEXT", set[int])


def test_db_type_keeps_a_known_kind() -> None:
    col = column(dt.datetime, Field(default=None, db_type="TIMESTAMPTZ"))
    assert (col.kind, col.db_type) == ("datetime", "TIMESTAMPTZ")


def test_lookups_per_kind() -> None:
    assert column(bool, Field(default=False)).lookups == COMMON_LOOKUPS
    assert column(uuid.UUID, Field(default=None)).lookups == COMMON_LOOKUPS
    assert column(Color, Field(default=Color.RED)).lookups == COMMON_LOOKUPS
    for annotation in (int, float, Decimal, dt.time, dt.timedelta):
        assert column(annotation, Field(default=None)).lookups == COMMON_LOOKUPS + ORDERED_LOOKUPS
    assert column(str, Field(default="")).lookups == COMMON_LOOKUPS + STRING_LOOKUPS
    assert column(dt.date, Field(default=None)).lookups == (
        COMMON_LOOKUPS + ORDERED_LOOKUPS + DATE_LOOKUPS
    )
    assert column(dt.datetime, Field(default=None)).lookups == (
        COMMON_LOOKUPS + ORDERED_LOOKUPS + DATETIME_LOOKUPS
    )
    assert column(dict, Field(default_factory=dict)).lookups == ("exact", "isnull", "has_key")
    assert lookups_for("uuid", foreign_key=True) == COMMON_LOOKUPS + ORDERED_LOOKUPS


def test_describe_unwraps_nested_layers() -> None:
    info = describe(Annotated[Optional[UserId], "m"], where="X.y")  # noqa: UP045
    assert (info.kind, info.python_type, info.nullable) == ("int", int, True)
    with pytest.raises(TypeError, match=r"X\.y: "):
        describe(object, where="X.y")
