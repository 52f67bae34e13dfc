"""annotate(), group_by(), having() and aggregate() on every backend: aggregates over
fields and over relations, grouping, filters on aggregates, and result types."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from oxyde import (
    Avg,
    Count,
    F,
    FieldError,
    ManagerError,
    Max,
    Min,
    Q,
    Sum,
)
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


def by_name(rows: list[Any]) -> dict[str, Any]:
    return {row.name: row for row in rows}


# -- aggregates over relations ----------------------------------------------------------------


async def test_count_over_reverse_fk_is_an_int_attribute(data: dict[str, Any]) -> None:
    authors = await AggAuthor.objects.annotate(n_posts=Count("posts")).all()
    # Meta.ordering still applies to an annotated query
    assert [a.name for a in authors] == ["Ann", "Bob", "Cid"]
    assert [a.n_posts for a in authors] == [3, 1, 0]
    assert all(type(a.n_posts) is int for a in authors)


async def test_annotations_stay_out_of_serialisation_and_equality(data: dict[str, Any]) -> None:
    ann = await AggAuthor.objects.annotate(n_posts=Count("posts")).get(name="Ann")
    plain = await AggAuthor.objects.get(name="Ann")
    assert ann.n_posts == 3
    assert ann.model_dump() == plain.model_dump()
    assert "n_posts" not in ann.model_dump() and "n_posts" not in ann.model_dump_json()
    assert "n_posts" not in repr(ann)
    assert ann == plain
    with pytest.raises(AttributeError):
        _ = plain.n_posts


async def test_relation_aggregates_keep_their_types(data: dict[str, Any]) -> None:
    authors = by_name(
        await AggAuthor.objects.annotate(
            views=Sum("posts__views"),
            mean=Avg("posts__views"),
            spent=Sum("posts__price"),
            latest=Max("posts__published"),
            worst=Min("posts__rating"),
        ).all()
    )
    ann, bob, cid = authors["Ann"], authors["Bob"], authors["Cid"]
    assert ann.views == 20 and type(ann.views) is int
    assert ann.mean == pytest.approx(20 / 3) and type(ann.mean) is float
    assert ann.spent == Decimal("13.75") and type(ann.spent) is Decimal
    assert ann.latest == dt.datetime(2024, 1, 3, 12, 30)
    assert ann.worst == 2.0 and type(ann.worst) is float
    assert (bob.views, bob.mean, bob.spent) == (5, 5.0, Decimal("4.00"))
    # an empty relation: no sum, no average, no max
    assert (cid.views, cid.mean, cid.spent, cid.latest, cid.worst) == (None,) * 5


async def test_many_to_many_and_nested_relations(data: dict[str, Any]) -> None:
    authors = by_name(
        await AggAuthor.objects.annotate(
            tag_links=Count("posts__tags"),
            tags=Count("posts__tags", distinct=True),
            weight=Sum("posts__tags__weight"),
            weights=Sum("posts__tags__weight", distinct=True),
            comments=Count("posts__comments"),
            comment_likes=Sum("posts__comments__likes"),
        ).all()
    )
    ann, bob, cid = authors["Ann"], authors["Bob"], authors["Cid"]
    assert (ann.tag_links, ann.tags, ann.weight, ann.weights) == (3, 2, 9, 7)
    assert (bob.tag_links, bob.tags, bob.weight) == (1, 1, 5)
    assert (cid.tag_links, cid.tags, cid.weight) == (0, 0, None)
    assert (ann.comments, ann.comment_likes) == (3, 9)
    assert (bob.comments, bob.comment_likes) == (1, 0)
    assert (cid.comments, cid.comment_likes) == (0, None)


async def test_two_relation_aggregates_do_not_multiply(data: dict[str, Any]) -> None:
    # a LEFT JOIN of both relations would count 2 comments x 2 tags for a1
    posts = (
        await AggPost.objects.annotate(
            n_tags=Count("tags"), n_comments=Count("comments"), tag_weight=Sum("tags__weight")
        )
        .order_by("title")
        .all()
    )
    assert [(p.title, p.n_tags, p.n_comments, p.tag_weight) for p in posts] == [
        ("a1", 2, 2, 7),
        ("a2", 1, 1, 2),
        ("a3", 0, 0, None),
        ("b1", 1, 1, 5),
        ("orph", 0, 0, None),
    ]


async def test_relation_aggregate_through_a_forward_fk(data: dict[str, Any]) -> None:
    posts = await AggPost.objects.annotate(siblings=Count("author__posts")).order_by("title").all()
    assert [p.siblings for p in posts] == [3, 3, 3, 1, 0]


async def test_filter_order_and_exclude_on_a_relation_aggregate(data: dict[str, Any]) -> None:
    q = AggAuthor.objects.annotate(n=Count("posts"))
    assert [a.name for a in await q.filter(n__gte=1).order_by("-n").all()] == ["Ann", "Bob"]
    assert [a.name for a in await q.exclude(n=0).order_by("n").all()] == ["Bob", "Ann"]
    assert [a.name for a in await q.filter(Q(n=0) | Q(name="Bob")).all()] == ["Bob", "Cid"]
    assert await q.filter(n__gt=1).count() == 1
    assert await q.filter(n__gt=5).exists() is False


async def test_update_and_delete_by_a_relation_aggregate(data: dict[str, Any]) -> None:
    counted = AggAuthor.objects.annotate(n=Count("posts"))
    assert await counted.filter(n__gte=1).update(age=F("age") + 1) == 2
    assert await AggAuthor.objects.values_list("age", flat=True).all() == [31, 21, None]
    assert await counted.filter(n=0).delete() == 1
    assert [a.name for a in await AggAuthor.objects.all()] == ["Ann", "Bob"]


async def test_join_with_annotations(data: dict[str, Any]) -> None:
    posts = AggPost.objects.join("author").annotate(n=Count("comments")).order_by("title")
    rows = await posts.all()
    assert [(p.title, p.author.name if p.author else None, p.n) for p in rows] == [
        ("a1", "Ann", 2),
        ("a2", "Ann", 1),
        ("a3", "Ann", 0),
        ("b1", "Bob", 1),
        ("orph", None, 0),
    ]


# -- grouping ---------------------------------------------------------------------------------


async def test_values_then_annotate_groups_by_the_values(data: dict[str, Any]) -> None:
    ann, bob = data["ann"].id, data["bob"].id
    rows = (
        await AggPost.objects.values("author_id")
        .annotate(n=Count("id"), total=Sum("views"), mean=Avg("rating"), money=Sum("price"))
        .all()
    )
    got = {r["author_id"]: r for r in rows}
    assert set(got) == {ann, bob, None}
    assert got[ann] == {
        "author_id": ann,
        "n": 3,
        "total": 20,
        "mean": pytest.approx(9.5 / 3),
        "money": Decimal("13.75"),
    }
    assert type(got[ann]["total"]) is int and type(got[ann]["money"]) is Decimal
    assert (got[bob]["n"], got[None]["total"]) == (1, 0)


async def test_filter_on_an_aggregate_becomes_having(data: dict[str, Any]) -> None:
    q = AggPost.objects.values("author_id").annotate(n=Count("id"), total=Sum("views"))
    assert await q.filter(n__gt=1).all() == [{"author_id": data["ann"].id, "n": 3, "total": 20}]
    # WHERE on rows and HAVING on groups in one filter() call
    assert await q.filter(views__lt=8, n__gt=1).all() == [
        {"author_id": data["ann"].id, "n": 2, "total": 10}
    ]
    assert await q.filter(n__gt=1).count() == 1
    assert await q.count() == 3
    assert await q.filter(n__gt=2).exists() is True
    assert await q.filter(n__gt=5).exists() is False


async def test_group_by_and_having_with_q_on_aliases(data: dict[str, Any]) -> None:
    q = (
        AggPost.objects.values("author_id")
        .annotate(n=Count("*"), total=Sum("views"))
        .group_by("author_id")
    )
    rows = await q.having(Q(n__gt=2) | Q(total__lt=4)).all()
    assert sorted(rows, key=lambda r: r["n"]) == [
        {"author_id": None, "n": 1, "total": 0},
        {"author_id": data["ann"].id, "n": 3, "total": 20},
    ]
    assert await q.having(total__gte=5, n=1).values_list("author_id", flat=True).all() == [
        data["bob"].id
    ]
    assert await q.having(~Q(n=1)).count() == 1


async def test_grouping_from_the_manager(data: dict[str, Any]) -> None:
    rows = await (
        AggPost.objects.group_by("author_id")
        .values("author_id")
        .annotate(n=Count("id"))
        .having(n__gt=1)
        .all()
    )
    assert rows == [{"author_id": data["ann"].id, "n": 3}]
    having = (
        await AggPost.objects.having(views__gt=-1)
        .values("views")
        .annotate(n=Count("id"))
        .order_by("-views")
        .first()
    )
    assert having == {"views": 10, "n": 1}
    with pytest.raises(ManagerError, match="order_by"):
        await AggPost.objects.values("author_id").annotate(n=Count("id")).last()


async def test_group_by_a_related_field(data: dict[str, Any]) -> None:
    rows = await (
        AggPost.objects.filter(author__isnull=False)
        .values("author__name")
        .annotate(total=Sum("views"))
        .order_by("author__name")
        .all()
    )
    assert rows == [{"author__name": "Ann", "total": 20}, {"author__name": "Bob", "total": 5}]


async def test_time_based_grouping(data: dict[str, Any]) -> None:
    per_month = AggPost.objects.values("published__year", "published__month").annotate(
        n=Count("id")
    )
    assert await per_month.all() == [{"published__year": 2024, "published__month": 1, "n": 5}]
    last_days = (
        AggPost.objects.values("published__day")
        .annotate(total=Sum("views"))
        .order_by("-published__day")[:2]
    )
    assert await last_days.all() == [
        {"published__day": 5, "total": 0},
        {"published__day": 4, "total": 5},
    ]
    hours = AggPost.objects.group_by("published__hour").values_list("published__hour", flat=True)
    assert await hours.all() == [12]
    with pytest.raises(FieldError, match="left over"):
        AggPost.objects.values("views__year")


async def test_grouped_queries_drop_meta_ordering(
    data: dict[str, Any], statements: Statements
) -> None:
    # Meta.ordering (name) is neither grouped nor aggregated: it must not be emitted
    rows = await AggAuthor.objects.values("age").annotate(n=Count("id")).all()
    assert sorted((r["age"] is None, r["n"]) for r in rows) == [(False, 1), (False, 1), (True, 1)]
    assert "ORDER BY" not in statements.sql[-1]
    first = await AggAuthor.objects.values("age").annotate(n=Count("id")).order_by("-n").first()
    assert first is not None and first["n"] == 1


async def test_models_grouped_explicitly_need_values(data: dict[str, Any]) -> None:
    # TypeError, as the public Oxyde raises for grouped rows loaded as models.
    with pytest.raises(TypeError, match="values"):
        await AggPost.objects.group_by("author_id").annotate(n=Count("id")).all()


async def test_update_of_a_grouped_query_is_refused(data: dict[str, Any]) -> None:
    q = AggPost.objects.values("author_id").annotate(n=Count("id")).filter(n__gt=1)
    with pytest.raises(ManagerError, match="grouped"):
        await q.update(views=0)
    with pytest.raises(ManagerError, match="grouped"):
        await q.delete()
    assert await AggPost.objects.filter(views=0).count() == 1


# -- reading annotations ------------------------------------------------------------------------


async def test_annotations_in_values_and_values_list(data: dict[str, Any]) -> None:
    q = AggAuthor.objects.annotate(n=Count("posts"))
    assert await q.values("name", "n").all() == [
        {"name": "Ann", "n": 3},
        {"name": "Bob", "n": 1},
        {"name": "Cid", "n": 0},
    ]
    everything = await q.values().first()
    assert everything is not None and everything["n"] == 3 and everything["name"] == "Ann"
    assert await q.values_list("name", "n").all() == [("Ann", 3), ("Bob", 1), ("Cid", 0)]
    assert await q.values_list("n", flat=True).all() == [3, 1, 0]
    dicts = await q.all(mode="dict")
    assert [(d["name"], d["n"]) for d in dicts] == [("Ann", 3), ("Bob", 1), ("Cid", 0)]


async def test_iterator_and_select_carry_annotations(data: dict[str, Any]) -> None:
    q = AggAuthor.objects.annotate(n=Count("posts"))
    streamed = [(a.name, a.n) async for a in q.iterator(chunk_size=2)]
    assert streamed == [("Ann", 3), ("Bob", 1), ("Cid", 0)]
    partial = await q.select("name").all()
    assert [(a.name, a.n) for a in partial] == [("Ann", 3), ("Bob", 1), ("Cid", 0)]


async def test_own_field_aggregate_on_model_rows(data: dict[str, Any]) -> None:
    # grouped by every selected column: one row per author
    authors = await AggAuthor.objects.annotate(same=Count("id")).order_by("name").all()
    assert [(a.name, a.same) for a in authors] == [("Ann", 1), ("Bob", 1), ("Cid", 1)]


# -- aggregate() --------------------------------------------------------------------------------


async def test_aggregate_over_fields_returns_python_types(data: dict[str, Any]) -> None:
    result = await AggPost.objects.aggregate(
        n=Count("id"),
        authors=Count("author", distinct=True),
        total=Sum("views"),
        mean=Avg("rating"),
        top=Max("rating"),
        first=Min("published"),
        money=Sum("price"),
        both=Sum("views") + Sum("likes"),
    )
    assert result == {
        "n": 5,
        "authors": 2,
        "total": 25,
        "mean": pytest.approx(2.1),
        "top": 4.5,
        "first": dt.datetime(2024, 1, 1, 12, 30),
        "money": Decimal("17.75"),
        "both": 42,
    }
    assert type(result["total"]) is int and type(result["mean"]) is float
    assert type(result["money"]) is Decimal and type(result["both"]) is int


async def test_aggregate_over_relations(data: dict[str, Any]) -> None:
    everyone = await AggAuthor.objects.aggregate(
        posts=Count("posts"),
        views=Sum("posts__views"),
        mean=Avg("posts__views"),
        tags=Count("posts__tags", distinct=True),
        oldest=Max("age"),
    )
    assert everyone == {"posts": 4, "views": 25, "mean": 6.25, "tags": 2, "oldest": 30}
    bob = await AggAuthor.objects.filter(name="Bob").aggregate(
        posts=Count("posts"), views=Sum("posts__views")
    )
    assert bob == {"posts": 1, "views": 5}
    nobody = await AggAuthor.objects.filter(name="Cid").aggregate(
        posts=Count("posts"), views=Sum("posts__views")
    )
    assert nobody == {"posts": 0, "views": None}
    missing = await AggAuthor.objects.filter(name="Zed").aggregate(posts=Count("posts"))
    assert missing == {"posts": 0}


async def test_aggregate_over_annotations_groups_and_slices(data: dict[str, Any]) -> None:
    per_author = AggAuthor.objects.annotate(n=Count("posts"))
    assert await per_author.aggregate(mean=Avg("n"), most=Max("n")) == {
        "mean": pytest.approx(4 / 3),
        "most": 3,
    }
    assert await per_author.sum("n") == 4
    assert await per_author.max("n") == 3
    groups = AggPost.objects.values("author_id").annotate(n=Count("id"), total=Sum("views"))
    assert await groups.aggregate(most=Max("n"), groups=Count("*"), views=Sum("total")) == {
        "most": 3,
        "groups": 3,
        "views": 25,
    }
    top_two = AggPost.objects.order_by("-views")[:2]
    assert await top_two.aggregate(views=Sum("views"), n=Count("id")) == {"views": 17, "n": 2}
    assert await top_two.sum("views") == 17


async def test_aggregate_of_nothing(data: dict[str, Any]) -> None:
    result = await AggPost.objects.none().aggregate(n=Count("id"), total=Sum("views"))
    assert result == {"n": 0, "total": None}
    result = await AggPost.objects.filter(views__gt=100).aggregate(n=Count("id"), s=Sum("views"))
    assert result == {"n": 0, "s": None}


async def test_count_and_exists_carry_no_ordering(
    data: dict[str, Any], statements: Statements
) -> None:
    assert await AggAuthor.objects.count() == 3
    assert await AggAuthor.objects.filter(age__gt=0).exists() is True
    assert await AggAuthor.objects.aggregate(n=Count("id")) == {"n": 3}
    assert all("ORDER BY" not in sql for sql in statements.sql)
    assert [a.name for a in await AggAuthor.objects.filter(age__isnull=False).all()] == [
        "Ann",
        "Bob",
    ]
    assert "ORDER BY" in statements.sql[-1]


# -- what is refused before any SQL -----------------------------------------------------------


@pytest.mark.parametrize(
    "alias",
    ["1x", "_x", "a__b", "a b", "x;drop", "", "é", "x" * 64, "x-y", 'a"b', "a`b"],
)
async def test_invalid_aliases_are_refused(
    data: dict[str, Any], statements: Statements, alias: str
) -> None:
    with pytest.raises(FieldError, match="alias"):
        AggAuthor.objects.annotate(**{alias: Count("posts")})
    with pytest.raises(FieldError, match="alias"):
        await AggAuthor.objects.aggregate(**{alias: Count("posts")})
    assert statements.sql == []


@pytest.mark.parametrize("alias", ["name", "pk", "posts", "save", "objects", "model_dump"])
async def test_aliases_clashing_with_the_model_are_refused(
    data: dict[str, Any], alias: str
) -> None:
    with pytest.raises(FieldError, match="conflicts"):
        AggAuthor.objects.annotate(**{alias: Count("posts")})


async def test_other_mistakes_fail_at_the_builder(data: dict[str, Any]) -> None:
    with pytest.raises(FieldError, match="already an annotation"):
        AggAuthor.objects.annotate(n=Count("posts")).annotate(n=Count("posts"))
    with pytest.raises(FieldError, match="needs a field of AggPost"):
        AggAuthor.objects.annotate(s=Sum("posts"))
    with pytest.raises(FieldError, match="nope"):
        AggAuthor.objects.annotate(n=Count("nope"))
    with pytest.raises(FieldError, match="nope"):
        AggAuthor.objects.annotate(n=Count("posts__nope"))
    with pytest.raises(TypeError, match="expression"):
        AggAuthor.objects.annotate(n="name")
    with pytest.raises(TypeError, match="aggregate"):
        await AggAuthor.objects.aggregate(n=F("age"))
    with pytest.raises(FieldError, match="aggregate"):
        AggPost.objects.values("author_id").annotate(n=Count("id")).group_by("n")
    with pytest.raises(FieldError, match="aggregates an aggregate"):
        AggPost.objects.annotate(n=Count("id")).annotate(m=Max("n"))
    # an aggregate() key may repeat a field name: it never becomes an attribute
    assert await AggAuthor.objects.aggregate(age=Max("age")) == {"age": 30}
