"""F expressions in filter, exclude, annotate, order_by and update; Concat, Coalesce and
RawSQL in annotate; annotation aliases in filter, order_by and F(), on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from oxyde import (
    Coalesce,
    Concat,
    F,
    FieldError,
    FieldLookupValueError,
    Q,
    RawSQL,
)
from tests.support.agg_models import AggAuthor, AggPost, load_data


@pytest.fixture
async def data(model_tables: Any) -> AsyncIterator[dict[str, Any]]:
    yield await load_data(model_tables)


async def titles(q: Any) -> list[str]:
    return sorted(p.title for p in await q.all())


# -- F in filter and exclude --------------------------------------------------------------------


async def test_column_to_column_comparisons(data: dict[str, Any]) -> None:
    posts = AggPost.objects
    assert await titles(posts.filter(views__gt=F("likes"))) == ["a1", "b1"]
    assert await titles(posts.filter(views__gte=F("likes"))) == ["a1", "a2", "b1", "orph"]
    assert await titles(posts.filter(views__lt=F("likes"))) == ["a3"]
    assert await titles(posts.filter(views__lte=F("likes"))) == ["a2", "a3", "orph"]
    assert await titles(posts.filter(views=F("likes"))) == ["a2", "orph"]
    assert await titles(posts.filter(views__exact=F("likes"))) == ["a2", "orph"]
    assert await titles(posts.filter(views__ne=F("likes"))) == ["a1", "a3", "b1"]
    assert await titles(posts.exclude(views__gt=F("likes"))) == ["a2", "a3", "orph"]
    assert await titles(posts.filter(Q(views__gt=F("likes")) | Q(likes__gt=8))) == [
        "a1",
        "a3",
        "b1",
    ]


async def test_arithmetic_ranges_and_relations_in_filters(data: dict[str, Any]) -> None:
    posts = AggPost.objects
    assert await titles(posts.filter(views__gt=F("likes") * 2)) == ["a1", "b1"]
    assert await titles(posts.filter(likes__gte=F("views") - 1)) == ["a2", "a3", "orph"]
    assert await titles(posts.filter(views__range=(F("likes"), 8))) == ["a2", "b1", "orph"]
    assert await titles(posts.filter(views__between=(0, F("likes")))) == ["a2", "a3", "orph"]
    # across a foreign key: posts without an author compare with NULL, so never match
    assert await titles(posts.filter(views__gt=F("author__age") - 25)) == ["a1", "a3", "b1"]
    assert await titles(posts.filter(price__gt=F("rating"))) == ["a1", "b1"]


async def test_unusable_f_expressions_fail_at_the_builder(data: dict[str, Any]) -> None:
    with pytest.raises(FieldError, match="nope"):
        AggPost.objects.filter(views__gt=F("nope"))
    with pytest.raises(FieldLookupValueError, match="string"):
        AggPost.objects.filter(title__contains=F("title"))
    with pytest.raises(FieldError, match="nope"):
        AggPost.objects.order_by(F("nope").desc())
    with pytest.raises(FieldError, match="nope"):
        AggPost.objects.annotate(x=F("views") + F("nope"))


# -- F in annotate and order_by -----------------------------------------------------------------


async def test_arithmetic_annotations_keep_their_types(data: dict[str, Any]) -> None:
    posts = (
        await AggPost.objects.annotate(
            total=F("views") + F("likes"),
            spread=F("views") - F("likes") * 2,
            doubled=F("price") * 2,
            half=F("rating") / 2,
            negative=-F("views"),
            bonus=F("views") + 1,
        )
        .order_by("title")
        .all()
    )
    a1 = posts[0]
    assert (a1.total, a1.spread, a1.negative, a1.bonus) == (14, 2, -10, 11)
    assert type(a1.total) is int and type(a1.negative) is int
    assert a1.doubled == Decimal("21.00") and type(a1.doubled) is Decimal
    assert a1.half == 2.25 and type(a1.half) is float
    assert [p.total for p in posts] == [14, 6, 16, 6, 0]


async def test_ordering_by_expressions(data: dict[str, Any]) -> None:
    posts = AggPost.objects
    ordered = posts.order_by((F("views") + F("likes")).desc(), "title")
    assert [p.title for p in await ordered.all()] == ["a3", "a1", "a2", "b1", "orph"]
    assert [p.title for p in await posts.order_by(F("likes").desc()).all()] == [
        "a3",
        "a1",
        "a2",
        "b1",
        "orph",
    ]
    assert [p.title for p in await posts.order_by(F("likes").asc(), "title").all()] == [
        "orph",
        "b1",
        "a2",
        "a1",
        "a3",
    ]
    assert [p.title for p in await posts.order_by(F("views") - F("likes"), "title").all()] == [
        "a3",
        "a2",
        "orph",
        "b1",
        "a1",
    ]


async def test_aliases_in_filter_order_by_and_f(data: dict[str, Any]) -> None:
    q = AggPost.objects.annotate(total=F("views") + F("likes"))
    assert await titles(q.filter(total__gte=14)) == ["a1", "a3"]
    assert await titles(q.filter(total__in=[6, 0])) == ["a2", "b1", "orph"]
    assert [p.title for p in await q.order_by("-total", "title").all()] == [
        "a3",
        "a1",
        "a2",
        "b1",
        "orph",
    ]
    # an alias inside a later annotation and on the right of a lookup
    q2 = q.annotate(twice=F("total") * 2).filter(views__lt=F("total") - 5)
    rows = await q2.values("title", "total", "twice").all()
    assert rows == [{"title": "a3", "total": 16, "twice": 32}]
    assert await q.filter(total=F("views")).values_list("title", flat=True).order_by(
        "title"
    ).all() == ["orph"]


# -- Concat, Coalesce, RawSQL ------------------------------------------------------------------


async def test_concat_casts_other_kinds_to_text(data: dict[str, Any]) -> None:
    rows = (
        await AggPost.objects.annotate(
            label=Concat("title", "views", separator="-"),
            digits=Concat("views", "likes"),
            by=Concat("title", "author__name", separator=" by "),
        )
        .order_by("title")
        .values("title", "label", "digits", "by")
        .all()
    )
    assert rows[0] == {"title": "a1", "label": "a1-10", "digits": "104", "by": "a1 by Ann"}
    assert rows[3] == {"title": "b1", "label": "b1-5", "digits": "51", "by": "b1 by Bob"}
    # NULL makes the whole concatenation NULL on every backend
    assert rows[4]["by"] is None


async def test_coalesce(data: dict[str, Any]) -> None:
    names = (
        await AggAuthor.objects.annotate(shown=Coalesce("nickname", "name"))
        .values_list("shown", flat=True)
        .all()
    )
    assert names == ["Ann", "bobby", "Cid"]
    ages = AggPost.objects.annotate(age=Coalesce("author__age", 0)).order_by("title")
    assert [(p.title, p.age) for p in await ages.all()] == [
        ("a1", 30),
        ("a2", 30),
        ("a3", 30),
        ("b1", 20),
        ("orph", 0),
    ]
    assert all(type(p.age) is int for p in await ages.all())


async def test_raw_sql_annotation(data: dict[str, Any]) -> None:
    rows = await AggPost.objects.annotate(six=RawSQL("2 * 3")).filter(title="a1").all()
    assert int(rows[0].six) == 6
    assert await AggPost.objects.annotate(six=RawSQL("2 * 3")).filter(six__gt=5).count() == 5


# -- F in update --------------------------------------------------------------------------------


async def test_updates_with_expressions(data: dict[str, Any]) -> None:
    posts = AggPost.objects
    assert await posts.filter(title="a1").update(views=F("views") + F("likes")) == 1
    assert await posts.filter(title="a1").update(price=F("price") * 2) == 1
    assert await posts.filter(title="b1").update(title=Concat("title", "views", separator=":")) == 1
    assert await posts.filter(views__lt=F("likes")).increment("likes", by=2) == 1
    a1 = await posts.get(title="a1")
    assert (a1.views, a1.price) == (14, Decimal("21.00"))
    assert type(a1.price) is Decimal
    assert await posts.filter(title="b1:5").exists()
    assert (await posts.get(title="a3")).likes == 11
