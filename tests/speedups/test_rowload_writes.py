"""The write-side helpers of ``rowload``: instances into INSERT parameters and RETURNING
rows back onto instances, pure and compiled alike (``bulk_create`` runs on them)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oxyde import Field, Model


class RwEntry(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=40)
    tags: list[str] = Field(default_factory=list)
    stamped: dt.datetime | None = Field(default=None, db_default="CURRENT_TIMESTAMP")

    class Meta:
        is_table = True
        table_name = "rw_entry"


RULES = (("id", True, False), ("stamped", False, True), ("title", True, True))


def _entries(specs: list[tuple[int | None, bool, str]]) -> list[RwEntry]:
    out = []
    for pk, stamp, title in specs:
        kwargs: dict[str, Any] = {"title": title}
        if pk is not None:
            kwargs["id"] = pk
        if stamp:
            kwargs["stamped"] = dt.datetime(2024, 1, 2, 3, 4, 5)
        out.append(RwEntry(**kwargs))
    return out


SPECS = st.lists(
    st.tuples(st.none() | st.integers(1, 10**9), st.booleans(), st.text(max_size=10)),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(specs=SPECS)
def test_omission_keys_and_values_agree(specs: list[tuple[int | None, bool, str]]) -> None:
    from oxyde import _impl

    pure = _impl.load_pure("rowload")
    try:
        compiled = _impl.load_compiled("rowload")
    except ImportError:
        compiled = pure
    for module in (pure, compiled):
        entries = _entries(specs)
        keys = module.omission_keys(entries, RULES)
        assert keys == [
            (e.id is None, "stamped" not in e.model_fields_set, e.title is None) for e in entries
        ]
        values = module.insert_values(entries, ("title", "id"))
        assert values == [v for e in entries for v in (e.title, e.id)]


def test_insert_values_names_a_missing_field(impls: Any) -> None:
    for module in impls("rowload"):
        with pytest.raises(KeyError, match="nope"):
            module.insert_values(_entries([(1, False, "a")]), ("title", "nope"))


def test_apply_returned_converts_once_per_text_and_marks_every_field_set(impls: Any) -> None:
    every = frozenset(RwEntry.model_fields)
    for module in impls("rowload"):
        entries = _entries([(None, False, "a"), (None, False, "b"), (None, True, "c")])
        rows = [(7, "2024-05-06 07:08:09", ["x"]), (8, "2024-05-06 07:08:09", ["x"]), (9, None, [])]
        module.apply_returned(
            entries,
            ("id", "stamped", "tags"),
            (None, module.text_to_datetime, list),
            (False, True, False),
            rows,
            every,
        )
        assert [e.id for e in entries] == [7, 8, 9]
        stamp = dt.datetime(2024, 5, 6, 7, 8, 9)
        assert [e.stamped for e in entries] == [stamp, stamp, None]
        # one shared text converts once: the rows of one INSERT share the value
        assert entries[0].stamped is entries[1].stamped
        # a mutable kind converts per row: no instance shares another's list
        assert entries[0].tags == ["x"] and entries[0].tags is not entries[1].tags
        assert all(e.model_fields_set == every for e in entries)


def test_apply_returned_refuses_a_row_count_or_width_mismatch(impls: Any) -> None:
    for module in impls("rowload"):
        entries = _entries([(None, False, "a"), (None, False, "b")])
        with pytest.raises(ValueError, match="1 rows came back for 2 instances"):
            module.apply_returned(entries, ("id",), (None,), (False,), [(1,)], frozenset())
        with pytest.raises(ValueError, match="a row of 1 values for 2 columns"):
            module.apply_returned(
                entries, ("id", "title"), (None, None), (False, False), [(1,), (2,)], frozenset()
            )
        assert [e.id for e in entries] == [None, None]


def test_any_object_with_a_dict_is_read_as_it_is(impls: Any) -> None:
    """Only a model instance can be deferred; anything else is read through its dict."""
    for module in impls("rowload"):
        plain = [SimpleNamespace(a=1, b="x"), SimpleNamespace(a=2, b="y")]
        assert module.insert_values(plain, ("b", "a")) == ["x", 1, "y", 2]
