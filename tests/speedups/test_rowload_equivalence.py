"""Row loading: compiled and pure give the state Pydantic validation gives.

For each model shape, ``load_models`` of both implementations must produce instances
equal to ``Model.model_validate(row as dict)`` on the whole observable state: field
values and their types, ``model_fields_set``, ``__pydantic_extra__``,
``__pydantic_private__`` and ``__dict__`` order. One deliberate difference: a row read
from the database leaves its relation fields unloaded, i.e. absent from ``__dict__``
(``oxyde/queries/relations.py``), where validation would fill in their defaults; the
reference drops them too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import PrivateAttr

from oxyde import Field, Model, RelationNotLoadedError
from oxyde.meta.registry import get_meta
from oxyde.queries.relations import relation_names
from oxyde.queries.rowplan import model_plan
from oxyde.sql.dialects import get_dialect

SQLITE = get_dialect("sqlite")


class RlPlain(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    score: float = 0.0
    flag: bool = False

    class Meta:
        is_table = True
        table_name = "rl_plain"


class RlTyped(Model):
    id: int | None = Field(default=None, db_pk=True)
    at: dt.datetime | None = None
    day: dt.date | None = None
    uid: uuid.UUID | None = None
    price: Decimal | None = Field(default=None, max_digits=10, decimal_places=2)
    data: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)

    class Meta:
        is_table = True
        table_name = "rl_typed"


class RlOwner(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = ""

    class Meta:
        is_table = True
        table_name = "rl_owner"


class RlPrivate(Model):
    id: int | None = Field(default=None, db_pk=True)
    label: str = ""
    owner: RlOwner | None = None
    _cache: dict[str, int] = PrivateAttr(default_factory=dict)
    _hits: int = PrivateAttr(default=0)

    class Meta:
        is_table = True
        table_name = "rl_private"


def state(obj: Any) -> tuple[Any, ...]:
    return (
        list(obj.__dict__.items()),
        [type(v) for v in obj.__dict__.values()],
        obj.model_fields_set,
        obj.__pydantic_extra__,
        obj.__pydantic_private__,
    )


def reference(model: Any, row: tuple[Any, ...]) -> Any:
    meta = get_meta(model)
    obj = model.model_validate(dict(zip(meta.columns, row, strict=True)))
    for name in relation_names(meta):
        # already unloaded when the row has the key (the relation follows its key)
        obj.__dict__.pop(name, None)
    return obj


def check(
    model: Any, rows: list[tuple[Any, ...]], impls: Callable[[str], tuple[ModuleType, ModuleType]]
) -> None:
    pure, compiled = impls("rowload")
    plan = model_plan(get_meta(model), SQLITE)
    for mod in (pure, compiled):
        loaded = mod.load_models(model, plan, rows)
        assert len(loaded) == len(rows)
        for obj, row in zip(loaded, rows, strict=True):
            assert state(obj) == state(reference(model, row))
            assert obj == reference(model, row)


def test_plain_model(impls: Any) -> None:
    check(RlPlain, [(1, "a", 1.5, True), (2, "b", -0.0, False)], impls)


def test_typed_model_after_conversion(impls: Any) -> None:
    # row values as the converters leave them (the plan's converters ran already)
    rows = [
        (1, dt.datetime(2024, 1, 2, 3, 4, 5, 6), dt.date(2020, 2, 29),
         uuid.UUID(int=7), Decimal("1.25"), {"a": [1]}, ["x", "y"]),
        (2, None, None, None, None, None, []),
    ]  # fmt: skip
    check(RlTyped, rows, impls)


def test_relations_and_private_attributes(impls: Any) -> None:
    check(RlPrivate, [(1, "x", None), (2, "y", 5)], impls)


def test_relations_are_left_unloaded(impls: Any) -> None:
    pure, compiled = impls("rowload")
    plan = model_plan(get_meta(RlPrivate), SQLITE)
    for mod in (pure, compiled):
        (obj,) = mod.load_models(RlPrivate, plan, [(1, "x", 5)])
        assert "owner" not in obj.__dict__ and obj.owner_id == 5
        with pytest.raises(RelationNotLoadedError, match=r"RlPrivate\.owner"):
            _ = obj.owner
        assert obj.model_dump() == {"id": 1, "label": "x", "owner_id": 5}


def test_instances_do_not_share_mutable_state(impls: Any) -> None:
    pure, compiled = impls("rowload")
    plan = model_plan(get_meta(RlPrivate), SQLITE)
    for mod in (pure, compiled):
        a, b = mod.load_models(RlPrivate, plan, [(1, "a", None), (2, "b", None)])
        a._cache["k"] = 1
        a.label = "changed"
        assert b._cache == {}
        assert "label" in a.model_fields_set and b.model_fields_set is not a.model_fields_set


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.text(max_size=20),
            st.floats(allow_nan=False),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_hypothesis_plain_rows(rows: list[tuple[Any, ...]]) -> None:
    from oxyde import _impl

    pure = _impl.load_pure("rowload")
    try:
        compiled = _impl.load_compiled("rowload")
    except ImportError:
        pytest.skip("compiled rowload unavailable")
    plan = model_plan(get_meta(RlPlain), SQLITE)
    a = pure.load_models(RlPlain, plan, rows)
    b = compiled.load_models(RlPlain, plan, rows)
    assert (
        [state(x) for x in a]
        == [state(x) for x in b]
        == [state(reference(RlPlain, r)) for r in rows]
    )


def test_dicts_tuples_scalars_agree(impls: Any) -> None:
    pure, compiled = impls("rowload")
    rows = [(1, "2024-01-02", None), (2, "2023-05-06", 3)]
    names = ("a", "b", "c")
    convs = (None, dt.date.fromisoformat, str)
    for mod in (pure, compiled):
        assert mod.load_dicts(names, convs, rows) == [
            {"a": 1, "b": dt.date(2024, 1, 2), "c": None},
            {"a": 2, "b": dt.date(2023, 5, 6), "c": "3"},
        ]
        assert mod.load_tuples(convs, rows) == [(1, dt.date(2024, 1, 2), None),
                                                 (2, dt.date(2023, 5, 6), "3")]  # fmt: skip
        assert mod.load_tuples((None, None, None), rows) == rows
        assert mod.load_scalars(str, rows) == ["1", "2"]
        assert mod.load_scalars(None, rows) == [1, 2]
