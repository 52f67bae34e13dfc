"""The relation helpers of rowload (join sharing, prefetch grouping) and its converters:
compiled and pure agree, and do what the query layer relies on."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_unseen_keys_keeps_the_first_row_of_each_new_key(impls: Any) -> None:
    rows = [(1, "a"), (None, "b"), (2, "c"), (1, "d"), (3, "e"), (2, "f")]
    for module in impls("rowload"):
        seen: dict[Any, Any] = {3: "built before"}
        assert module.unseen_keys(rows, 0, seen) == [(1, "a"), (2, "c")]
        assert seen == {3: "built before", 1: None, 2: None}
        assert module.unseen_keys(rows, 0, seen) == []


def test_by_key_picks_the_shared_value_per_row(impls: Any) -> None:
    rows = [(1,), (None,), (2,), (1,)]
    a, b = object(), object()
    for module in impls("rowload"):
        column = module.by_key(rows, 0, {1: a, 2: b})
        assert column == [a, None, b, a]
        assert column[0] is column[3]
        with pytest.raises(KeyError):
            module.by_key([(5,)], 0, {1: a})


def _item(key: Any, name: str) -> Any:
    item = SimpleNamespace()
    item.__dict__.update(key=key, name=name)
    return item


def test_collect_keys_keeps_the_first_seen_order_and_skips_none(impls: Any) -> None:
    items = [_item(3, "a"), _item(None, "b"), _item(1, "c"), _item(3, "d"), SimpleNamespace()]
    for module in impls("rowload"):
        seen: dict[Any, Any] = {2: None}
        module.collect_keys(seen, items, "key")
        assert list(seen) == [2, 3, 1]


def test_group_into_keeps_the_order_across_calls(impls: Any) -> None:
    items = [_item(1, "a"), _item(2, "b"), _item(1, "c"), _item(None, "d"), _item(1, "e")]
    for module in impls("rowload"):
        groups: dict[Any, list[Any]] = {}
        module.group_into(groups, items[:3], "key")
        module.group_into(groups, items[3:], "key")
        assert {k: [i.name for i in v] for k, v in groups.items()} == {
            1: ["a", "c", "e"],
            2: ["b"],
            None: ["d"],
        }
        with pytest.raises(KeyError):
            module.group_into(groups, [SimpleNamespace(other=1)], "key")


def test_groups_of_gives_every_parent_a_list_of_its_own(impls: Any) -> None:
    parents = [_item(1, "p1"), _item(2, "p2"), _item(1, "p3"), SimpleNamespace()]
    for module in impls("rowload"):
        groups = {1: ["x", "y"], 2: ["z"]}
        lists = module.groups_of(parents, "key", groups)
        assert lists == [["x", "y"], ["z"], ["x", "y"], []]
        assert lists[0] is not lists[2] and lists[0] is not groups[1]
        lists[0].append("w")
        assert groups[1] == ["x", "y"] and lists[2] == ["x", "y"]


def _keyed(key: Any, pk: int, name: str) -> Any:
    item = SimpleNamespace()
    item.__dict__.update(key=key, pk=pk, name=name)
    return item


def test_group_into_finds_the_lists_out_of_order_across_calls(impls: Any) -> None:
    items = [
        _keyed(1, 10, "a"),
        _keyed(2, 5, "b"),
        _keyed(1, 20, "c"),
        _keyed(2, 6, "d"),
        _keyed(3, 9, "e"),
        _keyed(1, 15, "f"),  # before "c": list 1 is out of order
        _keyed(3, 9, "g"),  # a tie is in order
    ]
    for module in impls("rowload"):
        groups: dict[Any, list[Any]] = {}
        tails: dict[Any, Any] = {}
        unordered: set[Any] = set()
        module.group_into(groups, items[:4], "key", "pk", tails, unordered)
        assert unordered == set()
        module.group_into(groups, items[4:], "key", "pk", tails, unordered)
        assert unordered == {1}
        assert tails == {1: 15, 2: 6, 3: 9}
        assert [i.name for i in groups[1]] == ["a", "c", "f"]


def test_sort_group_orders_a_list_by_key_and_keeps_ties_in_order(impls: Any) -> None:
    for module in impls("rowload"):
        unsorted = [_item(30, "a"), _item(10, "b"), _item(20, "c"), _item(10, "d")]
        module.sort_group(unsorted, "key")
        # sorted in place: the list is the one passed in
        assert [i.name for i in unsorted] == ["b", "d", "c", "a"]
        for short in ([], [_item(7, "h")]):
            module.sort_group(short, "key")
        with pytest.raises(KeyError):
            module.sort_group([_item(1, "x"), SimpleNamespace()], "key")


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2024-01-02 03:04:05", dt.datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02T03:04:05.123456", dt.datetime(2024, 1, 2, 3, 4, 5, 123456)),
        ("2024-01-02 03:04:05+02:00", dt.datetime(2024, 1, 2, 1, 4, 5)),
        ("2024-01-02", dt.datetime(2024, 1, 2)),
        (dt.datetime(2024, 1, 2, 3, 4), dt.datetime(2024, 1, 2, 3, 4)),
    ],
)
def test_text_to_datetime(impls: Any, stored: Any, read: dt.datetime) -> None:
    for module in impls("rowload"):
        value = module.text_to_datetime(stored)
        assert value == read and type(value) is dt.datetime and value.tzinfo is None


def test_text_to_datetime_refuses_what_is_not_a_datetime(impls: Any) -> None:
    for module in impls("rowload"):
        with pytest.raises(ValueError):
            module.text_to_datetime("yesterday")
        with pytest.raises(TypeError):
            module.text_to_datetime(12)


def _outcome(convert: Any, text: str) -> Any:
    try:
        value = convert(text)
    except Exception as exc:  # the error is what is compared
        return type(exc), str(exc)
    assert type(value) is dt.datetime and value.tzinfo is None
    return value


_ANY_DATETIME = st.datetimes(
    min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
)
#: what oxyde and CURRENT_TIMESTAMP write, which the compiled reader parses itself
_WRITTEN = st.tuples(_ANY_DATETIME, st.sampled_from(" T"), st.sampled_from(["auto", "seconds"]))
#: the same shape with any digits (out-of-range fields, non-ASCII digits), any separator
#: and any length of fraction: what it must leave to ``fromisoformat``, errors included
_SHAPED = st.from_regex(r"\A\d{4}-\d{2}-\d{2}[ Tx]\d{2}:\d{2}:\d{2}(\.\d{1,7})?\Z")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(written=_WRITTEN, shaped=_SHAPED)
def test_text_to_datetime_reads_every_text_as_fromisoformat_does(
    impls: Any, written: tuple[dt.datetime, str, str], shaped: str
) -> None:
    when, sep, timespec = written
    text = when.isoformat(sep, timespec=timespec)
    for module in impls("rowload"):
        assert module.text_to_datetime(text) == when.replace(
            microsecond=when.microsecond if timespec == "auto" else 0
        )
        assert _outcome(module.text_to_datetime, shaped) == _outcome(
            dt.datetime.fromisoformat, shaped
        )


def test_text_to_datetime_compiled_leaves_edge_cases_to_fromisoformat(impls: Any) -> None:
    texts = [
        "2024-02-29 00:00:00",  # a leap day
        "2023-02-29 00:00:00",  # not one
        "1900-02-29 00:00:00",
        "2000-02-29 12:00:00.000001",
        "2024-04-31 00:00:00",
        "2024-13-01 00:00:00",
        "0000-01-01 00:00:00",
        "2024-01-01 24:00:00",
        "2024-01-01 23:60:00",
        "2024-01-01 23:59:60",
        "2024-01-01 00:00:00.12345a",
        "2024-01-01 00:00:00,123456",
        "9999-12-31 23:59:59.999999",
        "2024-01-02 03:04:05+02:00",  # an offset: its UTC wall time
    ]
    pure, compiled = impls("rowload")

    def through_plan(text: str) -> Any:
        # the loaders call the converter without a Python call for this one (_convert)
        return compiled.load_scalars(compiled.text_to_datetime, [(text,)])[0]

    for text in texts:
        expected = _outcome(pure.text_to_datetime, text)
        assert _outcome(compiled.text_to_datetime, text) == expected
        assert _outcome(through_plan, text) == expected
