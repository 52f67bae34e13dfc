"""Remembered lookups (``oxyde/queries/lookupmemo.py``) and ``Model.objects.get`` on a
kept statement (``oxyde/queries/pointget.py``) give what the full path gives.

A remembered ``filter()`` must build the same tree and values as resolving the lookups
again, for every later call: other values of the same types, values of other types, and
values that fail validation (which must still fail). ``Model.objects.get`` must send the
same SQL and parameters as ``Query.get`` and return, or raise, the same things.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from oxyde import Query
from oxyde.exceptions import (
    FieldError,
    FieldLookupValueError,
    MultipleObjectsReturned,
    NotFoundError,
)
from oxyde.queries import lookupmemo, pointget
from tests.support.golden_models import GqAuthor, GqBook, GqStatus, GqTag, Recorder

pytestmark = pytest.mark.speedups


def typed(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return (type(value), [typed(v) for v in value])
    return (type(value), value)


def resolved(query: Query[Any], lookups: dict[str, Any]) -> Query[Any]:
    """``query.filter(**lookups)`` through the full resolver, never the memo."""
    return query._filter((), lookups)


def same_ir(a: Query[Any], b: Query[Any]) -> None:
    ia, ib = a.to_ir(), b.to_ir()
    assert ia["ir"] == ib["ir"]
    assert typed(ia["values"]) == typed(ib["values"])


@pytest.fixture(autouse=True)
def fresh_memos() -> None:
    lookupmemo.clear()
    pointget.clear()


# -- lookupmemo --------------------------------------------------------------------------------

#: lookups and, for each, later values of the same types
SAME_TYPES: list[tuple[type[Any], dict[str, Any], dict[str, Any]]] = [
    (GqBook, {"id": 1}, {"id": 99}),
    (GqBook, {"pages__gte": 10, "rating__lt": 2.5}, {"pages__gte": 0, "rating__lt": -1.0}),
    (GqBook, {"title": "a", "in_print": True}, {"title": "b", "in_print": False}),
    (GqBook, {"status": GqStatus.OUT}, {"status": GqStatus.DRAFT}),
    (GqBook, {"price__gt": Decimal("1.5")}, {"price__gt": Decimal("-3")}),
    (GqBook, {"released__lte": dt.date(2024, 1, 2)}, {"released__lte": dt.date(1999, 1, 1)}),
    (GqBook, {"uid": uuid.UUID(int=1)}, {"uid": uuid.UUID(int=2)}),
    (GqBook, {"pk": 3, "title__ne": "x"}, {"pk": 4, "title__ne": "y"}),
    (GqTag, {"name": "t"}, {"name": "u"}),
]


@pytest.mark.parametrize(("model", "first", "later"), SAME_TYPES)
def test_a_remembered_filter_builds_what_the_resolver_builds(
    model: Any, first: dict[str, Any], later: dict[str, Any]
) -> None:
    for lookups in (first, first, later, later):
        same_ir(Query(model).filter(**lookups), resolved(Query(model), lookups))
    assert len(lookupmemo._memo) == 1  # remembered once, then reused


def test_values_already_bound_shift_the_placeholders() -> None:
    base = Query(GqBook).filter(pages__gte=1)
    for pk in (5, 6):
        same_ir(base.filter(id=pk), resolved(base, {"id": pk}))
        same_ir(
            base.filter(id=pk).filter(title="x"),
            resolved(resolved(base, {"id": pk}), {"title": "x"}),
        )


@pytest.mark.parametrize(
    "lookups",
    [
        {"id": None},  # IS NULL
        {"id": "7"},  # coerced to 7
        {"pages": True},  # bool is not int here
        {"author": GqAuthor(id=4, name="a")},  # a related instance stands for its key
        {"id__in": [1, 2, 3]},
        {"title__startswith": "ab"},
        {"published__hour": 5},
        {"published__year": 2024},
        {"author__name": "n"},  # a join
        {"pages__range": (1, 5)},
    ],
)
def test_other_values_after_a_remembered_one_take_the_full_path(lookups: dict[str, Any]) -> None:
    key = next(iter(lookups)).split("__")[0]
    remembered = {
        "id": 1,
        "pages": 3,
        "author": 2,
        "title": "t",
        "published": dt.datetime(2024, 1, 1),
    }
    Query(GqBook).filter(**{key: remembered.get(key, 1)})
    for _ in range(2):
        same_ir(Query(GqBook).filter(**lookups), resolved(Query(GqBook), lookups))


def test_invalid_values_fail_every_time() -> None:
    Query(GqBook).filter(pages=1)
    Query(GqBook).filter(published__hour=5)
    for _ in range(2):
        with pytest.raises(FieldLookupValueError):
            Query(GqBook).filter(pages="many")
        with pytest.raises(FieldLookupValueError):
            Query(GqBook).filter(published__hour=25)
        with pytest.raises(FieldError):
            Query(GqBook).filter(nope=1)


# -- pointget ----------------------------------------------------------------------------------

BOOK_ROW = (
    7, "Title", 120, 4.5, "12.50", 1, "2024-01-02", "2024-01-02 03:04:05",
    "00000000-0000-0000-0000-000000000001", "out", "n", None,
)  # fmt: skip


async def both(model: Any, answers: list[list[Any]], **lookups: Any) -> tuple[Any, Any]:
    """(result or exception, recorded statements) of ``Model.objects.get`` and of
    ``Query.get``, each on its own recorder answering ``answers``."""
    outcomes = []
    for run in (model.objects.get, Query(model).get):
        recorder = Recorder("sqlite", [list(a) for a in answers])
        try:
            result: Any = await run(client=recorder, **lookups)
        except Exception as exc:  # compared below
            result = (type(exc), str(exc))
        outcomes.append((result, recorder.log))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize(
    "lookups",
    [
        {"id": 7},
        {"id": 8},
        {"pk": 7},
        {"title": "Title", "pages__gte": 100},
        {"id": "7"},
        {"id__in": [7]},
        {"author__name": "x"},
        {"author": GqAuthor(id=3, name="a")},
    ],
)
async def test_get_sends_and_returns_what_query_get_does(lookups: dict[str, Any]) -> None:
    for _ in range(3):  # learning, then from the kept statement
        (fast, fast_log), (full, full_log) = await both(GqBook, [[BOOK_ROW]], **lookups)
        assert fast_log == full_log
        assert fast == full
        assert fast.model_fields_set == full.model_fields_set
        assert fast.published == dt.datetime(2024, 1, 2, 3, 4, 5)


async def test_get_raises_what_query_get_raises() -> None:
    for _ in range(3):
        (fast, fast_log), (full, full_log) = await both(GqBook, [[]], id=1)
        assert fast == full == (NotFoundError, "GqBook matching query does not exist")
        assert fast_log == full_log
        (fast, _), (full, _) = await both(GqBook, [[BOOK_ROW, BOOK_ROW]], id=1)
        assert fast == full
        assert fast[0] is MultipleObjectsReturned
        (fast, _), (full, _) = await both(GqBook, [], nope=1)
        assert fast[0] is full[0] is FieldError


async def test_get_on_a_model_with_default_ordering() -> None:
    for name in ("a", "b", "a"):
        (fast, fast_log), (full, full_log) = await both(GqTag, [[(1, name)]], name=name)
        assert fast_log == full_log
        assert fast == full
        assert "ORDER BY" in fast_log[0][1]


async def test_get_without_lookups() -> None:
    (fast, fast_log), (full, full_log) = await both(GqTag, [[(1, "a")]])
    assert fast_log == full_log and fast == full
