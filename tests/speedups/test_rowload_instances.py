"""Instances built by ``rowload.load_models`` behave like validated ones in use: they are
independent of each other and of the plan, pickle, copy, dump and take assignments, are
tracked by the garbage collector, and models with their own ``__new__`` get it called.
Both implementations; ``rowplan.load_models`` also leaves the garbage collector as it was.
"""

from __future__ import annotations

import copy
import gc
import pickle
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from pydantic import ConfigDict, PrivateAttr

from oxyde import Field, Model
from oxyde.meta.registry import get_meta
from oxyde.queries import rowplan
from oxyde.queries.rowplan import model_plan
from oxyde.sql.dialects import get_dialect

pytestmark = pytest.mark.speedups

SQLITE = get_dialect("sqlite")


class RiItem(Model):
    model_config = ConfigDict(validate_assignment=True)

    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    qty: int = 0
    tags: list[str] = Field(default_factory=list)
    _seen: list[int] = PrivateAttr(default_factory=list)

    class Meta:
        is_table = True
        table_name = "ri_item"


class RiCounted(Model):
    """A model whose own ``__new__`` must run for every instance."""

    id: int | None = Field(default=None, db_pk=True)
    made: int = 0

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        RiCounted.created += 1
        return super().__new__(cls)

    class Meta:
        is_table = True
        table_name = "ri_counted"


RiCounted.created = 0  # type: ignore[attr-defined]

ROWS = [(1, "a", 2, '["x"]'), (2, "b", 3, "[]")]


def loaders(impls: Callable[[str], tuple[ModuleType, ModuleType]]) -> list[Any]:
    pure, compiled = impls("rowload")
    return [pure.load_models, compiled.load_models]


def load(load_models: Any, model: Any, rows: list[Any]) -> list[Any]:
    # converted as the query layer does it, so the rows hold the fields' Python types
    meta = get_meta(model)
    convs = [rowplan.column_converter(c, SQLITE) for c in meta.columns.values()]
    converted = [
        tuple(v if c is None or v is None else c(v) for c, v in zip(convs, row, strict=True))
        for row in rows
    ]
    return load_models(model, model_plan(meta, SQLITE), converted)  # type: ignore[no-any-return]


def test_instances_are_independent_of_each_other_and_of_the_plan(impls: Any) -> None:
    plan = model_plan(get_meta(RiItem), SQLITE)
    template = dict(plan[6])
    for load_models in loaders(impls):
        a, b = load(load_models, RiItem, ROWS)
        a.name = "changed"
        a.tags.append("y")
        a.__pydantic_fields_set__.discard("qty")
        a._seen.append(1)
        assert (b.name, b.tags, b._seen) == ("b", [], [])
        assert "qty" in b.model_fields_set
        assert a.__dict__ is not b.__dict__
        assert plan[6] == template  # the template every row's dict is copied from


def test_instances_pickle_copy_dump_and_validate_assignments(impls: Any) -> None:
    for load_models in loaders(impls):
        item = load(load_models, RiItem, ROWS)[0]
        validated = RiItem.model_validate({"id": 1, "name": "a", "qty": 2, "tags": ["x"]})
        assert pickle.loads(pickle.dumps(item)) == item == validated
        assert item.model_copy(update={"qty": 5}).qty == 5
        assert item.model_dump() == validated.model_dump()
        assert item.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
        item.qty = "7"  # validate_assignment coerces...
        assert item.qty == 7
        with pytest.raises(ValueError):
            item.qty = "many"  # ...and refuses
        assert gc.is_tracked(item)


def test_a_models_own_new_runs_for_every_row(impls: Any) -> None:
    for load_models in loaders(impls):
        before = RiCounted.created  # type: ignore[attr-defined]
        loaded = load(load_models, RiCounted, [(1, 4), (2, 5), (3, 6)])
        assert RiCounted.created - before == 3  # type: ignore[attr-defined]
        assert [(o.id, o.made) for o in loaded] == [(1, 4), (2, 5), (3, 6)]
        assert loaded[0] == RiCounted.model_validate({"id": 1, "made": 4})


def test_a_plan_without_its_template_still_loads(impls: Any) -> None:
    plan = model_plan(get_meta(RiItem), SQLITE)[:6]
    for load_models in loaders(impls):
        loaded = load_models(RiItem, plan, [(1, "a", 2, ["x"])])
        assert loaded[0] == RiItem.model_validate({"id": 1, "name": "a", "qty": 2, "tags": ["x"]})


def test_large_results_leave_the_collector_as_they_found_it() -> None:
    meta = get_meta(RiItem)
    rows = [(i, f"n{i}", i, "[]") for i in range(rowplan.PAUSE_GC_ROWS)]
    assert gc.isenabled()
    assert len(rowplan.load_models(meta, SQLITE, rows)) == len(rows)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        rowplan.load_models(meta, SQLITE, [*rows, (0, "bad", 0, "not json")])
    assert gc.isenabled()
    gc.disable()
    try:
        rowplan.load_models(meta, SQLITE, rows)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_each_instance_reads_a_fields_set_of_its_own(impls: Any) -> None:
    # The compiled loader shares the plan's frozenset and hands out a set on first read
    # (rowload.LazyFieldsSet); every way in must see a mutable set of this instance only.
    validated = RiItem.model_validate({"id": 1, "name": "a", "qty": 2, "tags": ["x"]})
    for load_models in loaders(impls):
        dumped, read, copied, untouched = load(load_models, RiItem, ROWS * 2)
        assert dumped.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
        fields_set = read.model_fields_set
        assert type(fields_set) is set and fields_set == {"id", "name", "qty", "tags"}
        assert read.model_fields_set is fields_set is read.__pydantic_fields_set__
        fields_set.discard("qty")
        clone = copy.copy(copied)
        clone.model_fields_set.discard("name")
        assert (
            copied.model_fields_set == untouched.model_fields_set == {"id", "name", "qty", "tags"}
        )
        assert pickle.loads(pickle.dumps(untouched)).model_fields_set == untouched.model_fields_set


def test_the_fields_set_descriptor_refuses_objects_of_other_layouts() -> None:
    descriptor = Model.__dict__.get("__pydantic_fields_set__")
    if descriptor is None:
        pytest.skip("instances of this implementation carry a plain fields set")
    stranger = SimpleNamespace(x=1)
    with pytest.raises(TypeError, match="BaseModel slot"):
        descriptor.__get__(stranger, SimpleNamespace)
    with pytest.raises(TypeError, match="BaseModel slot"):
        descriptor.__set__(stranger, {"x"})
    assert stranger.x == 1
    item = RiItem(name="n")
    descriptor.__set__(item, {"name"})
    assert descriptor.__get__(item, RiItem) == item.model_fields_set == {"name"}


def test_both_fields_set_descriptors_swap_a_frozenset_for_a_set(impls: Any) -> None:
    from pydantic import BaseModel

    slot = BaseModel.__dict__["__pydantic_fields_set__"]
    for module in impls("rowload"):
        offset = module._SLOT_OFFSETS[0] if module._SLOT_OFFSETS else -1
        descriptor = module.LazyFieldsSet(slot, offset)
        item = RiItem(name="n")
        slot.__set__(item, frozenset({"name", "qty"}))
        first = descriptor.__get__(item, RiItem)
        assert type(first) is set and first == {"name", "qty"}
        assert slot.__get__(item, RiItem) is first is descriptor.__get__(item, RiItem)
        descriptor.__delete__(item)
        with pytest.raises(AttributeError):
            descriptor.__get__(item, RiItem)


def test_mark_set_adds_a_name_to_every_fields_set_and_keeps_them_apart(impls: Any) -> None:
    for module in impls("rowload"):
        for load_models in loaders(impls):
            fresh, read, other = load(load_models, RiItem, [*ROWS, (3, "c", 4, "[]")])
            before = read.model_fields_set  # this one holds a set of its own already
            module.mark_set([fresh, read, other], "extra_name")
            assert read.model_fields_set is before
            for item in (fresh, read, other):
                assert item.model_fields_set == {"id", "name", "qty", "tags", "extra_name"}
                assert type(item.model_fields_set) is set
            fresh.model_fields_set.discard("qty")
            assert "qty" in other.model_fields_set
