"""union()/union_all() (chained, ordered, sliced, counted), none(), Meta.ordering and
in_bulk(), on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from oxyde import Count, FieldError, ManagerError, MultipleObjectsReturned, Sum
from tests.support.agg_models import (
    AggAuthor,
    AggPost,
    Statements,
    capture_statements,
    load_data,
)


@pytest.fixture
async def data(model_tables: Any) -> AsyncIterator[dict[str, Any]]:
    yield await load_data(model_tables)


@pytest.fixture
def statements() -> Iterator[Statements]:
    yield from capture_statements()


def popular() -> Any:
    return AggPost.objects.filter(views__gte=7)  # a1, a3


def by_bob() -> Any:
    return AggPost.objects.filter(author__name="Bob")  # b1


def liked() -> Any:
    return AggPost.objects.filter(likes__gte=9)  # a3


async def test_union_removes_duplicates_and_union_all_keeps_them(data: dict[str, Any]) -> None:
    union = popular().union(liked())
    assert sorted(p.title for p in await union.all()) == ["a1", "a3"]
    assert await union.count() == 2
    union_all = popular().union_all(liked())
    assert sorted(p.title for p in await union_all.all()) == ["a1", "a3", "a3"]
    assert await union_all.count() == 3
    assert all(isinstance(p, AggPost) for p in await union_all.all())


async def test_order_slice_and_chain(data: dict[str, Any]) -> None:
    union = popular().union(by_bob())
    assert [p.title for p in await union.order_by("-views").all()] == ["a1", "a3", "b1"]
    assert [p.title for p in await union.order_by("-views")[:2].all()] == ["a1", "a3"]
    assert [p.title for p in await union.order_by("-views")[1:].all()] == ["a3", "b1"]
    assert await union.order_by("views")[:2].count() == 2
    chained = popular().union(by_bob()).union_all(liked())
    assert await chained.count() == 4
    assert [p.title for p in await chained.order_by("title").all()] == ["a1", "a3", "a3", "b1"]
    nested = by_bob().union(popular().union_all(liked()))
    assert await nested.count() == 3
    # from the manager: the whole table is the first query
    assert await AggPost.objects.union(liked()).count() == 5
    assert await AggPost.objects.union_all(liked()).count() == 6


async def test_union_terminals(data: dict[str, Any]) -> None:
    union = popular().union(by_bob())
    ordered = union.order_by("views")
    first, last = await ordered.first(), await ordered.last()
    assert first is not None and first.title == "b1"
    assert last is not None and last.title == "a1"
    unordered_first = await union.first()  # by primary key
    assert unordered_first is not None and unordered_first.title == "a1"
    assert await union.exists() is True
    assert await AggPost.objects.filter(views=99).union(liked().filter(views=98)).exists() is False
    with pytest.raises(MultipleObjectsReturned):
        await union.get()
    only = await by_bob().union(by_bob()).get()
    assert only.title == "b1"
    assert [p.title async for p in union.order_by("title").iterator(chunk_size=2)] == [
        "a1",
        "a3",
        "b1",
    ]


async def test_aggregates_over_a_union(data: dict[str, Any]) -> None:
    union_all = popular().union_all(liked())
    assert await union_all.aggregate(views=Sum("views"), n=Count("*")) == {"views": 24, "n": 3}
    assert await popular().union(liked()).sum("views") == 17
    assert await union_all.max("likes") == 9


async def test_values_unions_follow_the_first_query(data: dict[str, Any]) -> None:
    titles = AggPost.objects.filter(views__gt=6).values("title", "views")
    names = AggAuthor.objects.values_list("name", "age")
    rows = await titles.union(names).all()
    assert sorted(rows, key=lambda r: r["title"]) == [
        {"title": "Ann", "views": 30},
        {"title": "Bob", "views": 20},
        {"title": "Cid", "views": None},
        {"title": "a1", "views": 10},
        {"title": "a3", "views": 7},
    ]
    tuples = await names.union(titles).order_by("name").all()
    assert sorted(tuples, key=lambda t: t[0]) == [
        ("Ann", 30),
        ("Bob", 20),
        ("Cid", None),
        ("a1", 10),
        ("a3", 7),
    ]


async def test_shapes_must_match(data: dict[str, Any]) -> None:
    with pytest.raises(ManagerError, match="same columns"):
        popular().union(AggAuthor.objects.filter(age=1))
    with pytest.raises(ManagerError, match="same columns"):
        popular().union(popular().values("title"))
    with pytest.raises(ManagerError, match="same columns"):
        popular().values("title").union(popular().values("title", "views"))
    with pytest.raises(TypeError):
        popular().union([1, 2])  # type: ignore[arg-type]


async def test_what_belongs_to_the_members_is_refused(data: dict[str, Any]) -> None:
    union = popular().union(by_bob())
    for call in (
        lambda: union.filter(views=1),
        lambda: union.exclude(views=1),
        lambda: union.values("title"),
        lambda: union.annotate(n=Count("comments")),
        lambda: union.distinct(),
        lambda: union.for_update(),
        lambda: union.in_bulk([1]),
    ):
        with pytest.raises(ManagerError, match="union"):
            result = call()
            if hasattr(result, "__await__"):
                await result
    with pytest.raises(ManagerError, match="union"):
        await union.update(views=0)
    with pytest.raises(ManagerError, match="union"):
        await union.delete()
    with pytest.raises(FieldError, match="output columns"):
        union.order_by("author__name")
    with pytest.raises(ManagerError, match="for_update"):
        popular().for_update().union(by_bob())
    # nothing was written
    assert await AggPost.objects.filter(views=0).count() == 1


async def test_none(data: dict[str, Any], statements: Statements) -> None:
    nothing = AggPost.objects.none()
    assert await nothing.all() == []
    assert await nothing.count() == 0
    assert await nothing.exists() is False
    assert await nothing.first() is None
    assert statements.sql == []
    assert sorted(p.title for p in await popular().union(nothing).all()) == ["a1", "a3"]
    assert sorted(p.title for p in await nothing.union(popular()).all()) == ["a1", "a3"]
    assert await popular().union(by_bob()).none().count() == 0
    assert await popular().union(by_bob()).none().all() == []


async def test_meta_ordering_applies_to_the_union_not_its_parts(
    data: dict[str, Any], statements: Statements
) -> None:
    union = AggAuthor.objects.filter(name="Cid").union(AggAuthor.objects.filter(age__gte=20))
    assert [a.name for a in await union.all()] == ["Ann", "Bob", "Cid"]
    assert statements.sql[-1].count("ORDER BY") == 1
    assert await union.count() == 3
    assert "ORDER BY" not in statements.sql[-1]


async def test_members_keep_their_own_order_and_limit(data: dict[str, Any]) -> None:
    top = AggPost.objects.order_by("-views")[:1]
    bottom = AggPost.objects.order_by("views", "title")[:1]
    assert sorted(p.title for p in await top.union(bottom).all()) == ["a1", "orph"]
    assert await top.union_all(bottom).count() == 2


async def test_union_of_annotated_and_joined_queries(data: dict[str, Any]) -> None:
    counted = AggAuthor.objects.annotate(n=Count("posts"))
    union = counted.filter(name="Ann").union(counted.filter(n=0))
    assert [(a.name, a.n) for a in await union.all()] == [("Ann", 3), ("Cid", 0)]
    assert [a.name for a in await union.order_by("-n").all()] == ["Ann", "Cid"]
    joined = AggPost.objects.join("author")
    rows = await joined.filter(title="a1").union(joined.filter(title="b1")).order_by("title").all()
    assert [(p.title, p.author.name) for p in rows] == [("a1", "Ann"), ("b1", "Bob")]


# -- in_bulk --------------------------------------------------------------------------------------


async def test_in_bulk(data: dict[str, Any], statements: Statements) -> None:
    posts = data["posts"]
    ids = [posts["a1"].id, posts["b1"].id, 987654]
    found = await AggPost.objects.in_bulk(ids)
    assert set(found) == {posts["a1"].id, posts["b1"].id}
    assert found[posts["a1"].id].title == "a1" and isinstance(found[posts["b1"].id], AggPost)
    by_name = await AggAuthor.objects.filter(age__isnull=False).in_bulk(
        ["Ann", "Cid", "Zed"], field="name"
    )
    assert list(by_name) == ["Ann"]
    dicts = await AggAuthor.objects.values("name", "age").in_bulk(["Bob"], field="name")
    assert dicts == {"Bob": {"name": "Bob", "age": 20}}
    statements.sql.clear()
    assert await AggPost.objects.in_bulk([]) == {}
    assert statements.sql == []


async def test_in_bulk_of_many_keys(data: dict[str, Any]) -> None:
    keys = [data["posts"]["a3"].id, *range(100_000, 106_000)]
    assert list(await AggPost.objects.in_bulk(keys)) == [data["posts"]["a3"].id]


async def test_in_bulk_refusals(data: dict[str, Any]) -> None:
    with pytest.raises(FieldError, match="unique"):
        await AggPost.objects.in_bulk(["a1"], field="title")
    with pytest.raises(FieldError, match="nope"):
        await AggPost.objects.in_bulk([1], field="nope")
    with pytest.raises(ManagerError, match="limit"):
        await AggPost.objects.filter(views=1)[:2].in_bulk([1])
    with pytest.raises(ManagerError, match="name"):
        await AggAuthor.objects.values("age").in_bulk(["Ann"], field="name")
