"""The query API against a real database: builders, lookups, terminals, writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from oxyde import (
    F,
    FieldError,
    FieldLookupError,
    FieldLookupValueError,
    ManagerError,
    MultipleObjectsReturned,
    NotFoundError,
    Q,
    RelationNotLoadedError,
    UniqueViolationError,
    create_tables,
    drop_tables,
    execute_raw,
)
from tests.support.models import Author, Company, Post, Status


@pytest.fixture
async def data(database: Any) -> AsyncIterator[dict[str, Any]]:
    await drop_tables(database)
    await create_tables(database)
    acme = await Company.objects.create(name="Acme", country="US")
    globex = await Company.objects.create(name="Globex", country="DE")
    alice = await Author.objects.create(name="Alice", email="alice@x.io", age=30, company=acme)
    bob = await Author.objects.create(name="Bob", email="bob@x.io", age=17, company=globex)
    carol = await Author.objects.create(name="Carol 50%", email="carol@x.io", age=None)
    posts = await Post.objects.bulk_create(
        [
            Post(title="Hello", views=10, rating=4.5, status=Status.PUBLISHED,
                 published_at=dt.datetime(2024, 3, 5, 10, 0), author_id=alice.id),
            Post(title="World", views=3, rating=2.0, status=Status.DRAFT,
                 published_at=dt.datetime(2024, 12, 25, 8, 30), author_id=alice.id),
            Post(title="Snake_case", views=7, rating=3.0, status=Status.PUBLISHED,
                 published_at=dt.datetime(2023, 7, 1), author_id=bob.id),
            Post(title="Nobody", views=0, rating=1.0, author_id=None),
        ]
    )  # fmt: skip
    yield {"acme": acme, "globex": globex, "alice": alice, "bob": bob, "carol": carol,
           "posts": posts}  # fmt: skip
    await drop_tables(database)


async def titles(q: Any) -> list[str]:
    return sorted(p.title for p in await q.all())


async def test_create_assigns_key_and_reads_back(data: dict[str, Any]) -> None:
    alice = data["alice"]
    assert isinstance(alice.id, int)
    fetched = await Author.objects.get(id=alice.id)
    # the relation set on create stays on the instance; a plain get() leaves it unloaded,
    # and reading it says so instead of answering None
    assert alice.company == data["acme"]
    with pytest.raises(RelationNotLoadedError, match=r"Author\.company .*join\('company'\)"):
        _ = fetched.company
    assert fetched.model_dump() == alice.model_dump(exclude={"company"})
    assert fetched.company_id == data["acme"].id
    assert fetched.model_fields_set >= {"id", "name", "email", "age", "active", "company_id"}
    assert all(p.id is not None for p in data["posts"])


async def test_comparison_lookups(data: dict[str, Any]) -> None:
    assert await titles(Post.objects.filter(views__gt=3)) == ["Hello", "Snake_case"]
    assert await titles(Post.objects.filter(views__gte=3, views__lt=10)) == [
        "Snake_case", "World"]  # fmt: skip
    assert await titles(Post.objects.filter(views__lte=0)) == ["Nobody"]
    assert await titles(Post.objects.filter(views__ne=10)) == ["Nobody", "Snake_case", "World"]
    assert await titles(Post.objects.filter(views__in=[3, 7])) == ["Snake_case", "World"]
    assert await Post.objects.filter(views__in=[]).count() == 0
    assert await Post.objects.exclude(views__in=[]).count() == 4
    # values of another type are validated as the field would be; None is refused
    assert await titles(Post.objects.filter(views__in=["3", 7.0])) == ["Snake_case", "World"]
    assert await titles(Post.objects.filter(views__in=iter([7, 3]))) == ["Snake_case", "World"]
    with pytest.raises(FieldLookupValueError, match="None"):
        Post.objects.filter(views__in=[3, None])
    assert await titles(Post.objects.filter(views__range=(3, 7))) == ["Snake_case", "World"]
    assert await titles(Post.objects.filter(views__between=[7, 10])) == ["Hello", "Snake_case"]


async def test_string_lookups_escape_wildcards(data: dict[str, Any]) -> None:
    assert await titles(Post.objects.filter(title__contains="ell")) == ["Hello"]
    assert await titles(Post.objects.filter(title__icontains="WOR")) == ["World"]
    assert await titles(Post.objects.filter(title__startswith="Sn")) == ["Snake_case"]
    assert await titles(Post.objects.filter(title__istartswith="he")) == ["Hello"]
    assert await titles(Post.objects.filter(title__endswith="ld")) == ["World"]
    assert await titles(Post.objects.filter(title__iendswith="BODY")) == ["Nobody"]
    assert await titles(Post.objects.filter(title__iexact="hello")) == ["Hello"]
    # "_" and "%" are literal characters, not wildcards
    assert await titles(Post.objects.filter(title__contains="e_c")) == ["Snake_case"]
    assert await Post.objects.filter(title__contains="_").count() == 1
    assert [a.name for a in await Author.objects.filter(name__contains="50%").all()] == [
        "Carol 50%"]  # fmt: skip
    assert await Author.objects.filter(name__contains="%").count() == 1


async def test_null_lookups(data: dict[str, Any]) -> None:
    assert [a.name for a in await Author.objects.filter(age=None).all()] == ["Carol 50%"]
    assert await Author.objects.filter(age__isnull=False).count() == 2
    assert await Author.objects.filter(age__isnull=True).count() == 1
    assert await Post.objects.filter(author=None).count() == 1


async def test_date_lookups(data: dict[str, Any]) -> None:
    assert await titles(Post.objects.filter(published_at__year=2024)) == ["Hello", "World"]
    assert await titles(Post.objects.filter(published_at__month=(2024, 12))) == ["World"]
    assert await titles(Post.objects.filter(published_at__day=(2023, 7, 1))) == ["Snake_case"]
    assert await Post.objects.filter(published_at__year=2022).count() == 0


async def test_enum_lookup(data: dict[str, Any]) -> None:
    assert await titles(Post.objects.filter(status=Status.PUBLISHED)) == ["Hello", "Snake_case"]
    assert await titles(Post.objects.filter(status="draft")) == ["Nobody", "World"]
    post = await Post.objects.get(title="Hello")
    assert post.status is Status.PUBLISHED


async def test_q_trees_and_exclude(data: dict[str, Any]) -> None:
    q = Post.objects.filter(Q(views__gte=10) | Q(title="World"))
    assert await titles(q) == ["Hello", "World"]
    q = Post.objects.filter(~Q(status=Status.PUBLISHED) & Q(views__gt=0))
    assert await titles(q) == ["World"]
    assert await titles(Post.objects.exclude(status=Status.PUBLISHED)) == ["Nobody", "World"]
    assert await Post.objects.filter(Q()).count() == 4


async def test_fk_traversal_any_depth(data: dict[str, Any]) -> None:
    assert await titles(Post.objects.filter(author__name="Alice")) == ["Hello", "World"]
    assert await titles(Post.objects.filter(author__age__lt=18)) == ["Snake_case"]
    assert await titles(Post.objects.filter(author__company__name__iexact="acme")) == [
        "Hello", "World"]  # fmt: skip
    assert await titles(Post.objects.filter(author__company__country="DE")) == ["Snake_case"]
    assert await Post.objects.filter(author__company__country="DE").count() == 1
    rows = (
        await Post.objects.filter(author__company__name="Acme")
        .values("title", "author__name", "author__company__country")
        .order_by("title")
        .all()
    )
    assert rows == [
        {"title": "Hello", "author__name": "Alice", "author__company__country": "US"},
        {"title": "World", "author__name": "Alice", "author__company__country": "US"},
    ]
    alice = data["alice"]
    assert await Post.objects.filter(author=alice).count() == 2
    assert await Post.objects.filter(author_id=alice.id).count() == 2


async def test_ordering_limit_offset_slicing(data: dict[str, Any]) -> None:
    ordered = await Post.objects.order_by("-views").all()
    assert [p.title for p in ordered] == ["Hello", "Snake_case", "World", "Nobody"]
    assert [p.title for p in await Post.objects.order_by("views").limit(2).all()] == [
        "Nobody", "World"]  # fmt: skip
    assert [p.title for p in await Post.objects.order_by("views").offset(3).all()] == ["Hello"]
    assert [p.title for p in await Post.objects.order_by("views")[1:3].all()] == [
        "World", "Snake_case"]  # fmt: skip
    ordered_by_author = Post.objects.filter(author__isnull=False).order_by("author__name", "views")
    assert [p.title for p in await ordered_by_author.all()][:2] == [
        "World", "Hello"]  # fmt: skip
    assert len(await Post.objects.order_by("?").all()) == 4
    with pytest.raises(ValueError):
        Post.objects.limit(-1)


async def test_values_and_values_list(data: dict[str, Any]) -> None:
    rows = await Post.objects.filter(title="Hello").values("title", "status", "published_at").all()
    assert rows == [{"title": "Hello", "status": Status.PUBLISHED,
                     "published_at": dt.datetime(2024, 3, 5, 10, 0)}]  # fmt: skip
    flat = await Post.objects.order_by("views").values_list("views", flat=True).all()
    assert flat == [0, 3, 7, 10]
    pairs = await Post.objects.order_by("views").values_list("title", "views").all()
    assert pairs[0] == ("Nobody", 0)
    everything = await Company.objects.order_by("name").values().all()
    assert everything[0] == {"id": data["acme"].id, "name": "Acme", "country": "US"}
    distinct = await Post.objects.values_list("status", flat=True).distinct().all()
    assert sorted(s.value for s in distinct) == ["draft", "published"]


async def test_get_first_last_count_exists(data: dict[str, Any]) -> None:
    assert (await Post.objects.get(title="World")).views == 3
    with pytest.raises(NotFoundError):
        await Post.objects.get(title="missing")
    with pytest.raises(MultipleObjectsReturned):
        await Post.objects.get(status=Status.PUBLISHED)
    assert await Post.objects.get_or_none(title="missing") is None
    first = await Post.objects.first()
    last = await Post.objects.last()
    assert first is not None and last is not None
    assert first.id == data["posts"][0].id and last.id == data["posts"][-1].id
    assert (await Post.objects.order_by("views").last()).title == "Hello"  # type: ignore[union-attr]
    assert await Post.objects.filter(views__gt=100).first() is None
    assert await Post.objects.count() == 4
    assert await Post.objects.filter(views__gt=5).exists()
    assert not await Post.objects.filter(views__gt=500).exists()
    assert await Post.objects.order_by("views").limit(2).count() == 2


async def test_scalar_aggregates(data: dict[str, Any]) -> None:
    assert await Post.objects.sum("views") == 20
    assert isinstance(await Post.objects.sum("views"), int)
    assert await Post.objects.avg("rating") == pytest.approx(2.625)
    assert await Post.objects.max("published_at") == dt.datetime(2024, 12, 25, 8, 30)
    assert await Post.objects.min("views") == 0
    assert await Post.objects.filter(views__gt=100).sum("views") is None


async def test_update_delete_increment(data: dict[str, Any]) -> None:
    assert await Post.objects.filter(status=Status.DRAFT).update(views=F("views") + 5) == 2
    assert await Post.objects.get(title="World") == await Post.objects.get(views=8)
    assert await Post.objects.filter(title="Hello").increment("views", by=2) == 1
    assert (await Post.objects.get(title="Hello")).views == 12
    updated = await Post.objects.filter(title="Hello").update(title="Hi", returning=True)
    assert [p.title for p in updated] == ["Hi"]
    assert isinstance(updated[0], Post)
    # an update that follows a relation
    assert await Post.objects.filter(author__name="Bob").update(rating=5.0) == 1
    assert (await Post.objects.get(title="Snake_case")).rating == 5.0
    assert await Post.objects.filter(author__company__name="Acme").delete() == 2
    assert await Post.objects.count() == 2
    assert await Post.objects.update(views=0) == 2


async def test_save_refresh_delete_instance(data: dict[str, Any]) -> None:
    post = await Post.objects.get(title="World")
    post.views = 99
    await post.save()
    assert (await Post.objects.get(id=post.id)).views == 99
    post.title = "Changed"
    post.views = 1
    await post.save(update_fields=["views"])
    fresh = await Post.objects.get(id=post.id)
    assert (fresh.title, fresh.views) == ("World", 1)
    await post.refresh()
    assert post.title == "World"
    new = Post(title="Fresh", views=1)
    await new.save()
    assert new.id is not None
    assert await new.delete() == 1
    assert not await Post.objects.filter(id=new.id).exists()


async def test_bulk_update(data: dict[str, Any]) -> None:
    posts = await Post.objects.order_by("id").all()
    for p in posts:
        p.views += 100
        p.title = p.title.upper()
    assert await Post.objects.bulk_update(posts, ["views"]) == 4
    again = await Post.objects.order_by("id").all()
    assert [p.views for p in again] == [110, 103, 107, 100]
    assert again[0].title == "Hello"
    with pytest.raises(FieldError):
        await Post.objects.bulk_update(posts, ["nope"])


async def test_get_or_create_update_or_create(data: dict[str, Any]) -> None:
    company, created = await Company.objects.get_or_create(name="Acme")
    assert not created and company.id == data["acme"].id
    company, created = await Company.objects.get_or_create(
        name="Initech", defaults={"country": "US"}
    )
    assert created and company.country == "US"
    company, created = await Company.objects.update_or_create(
        name="Initech", defaults={"country": "FR"}
    )
    assert not created and (await Company.objects.get(name="Initech")).country == "FR"
    company, created = await Company.objects.update_or_create(
        name="Umbrella", defaults={"country": "UK"}
    )
    assert created and company.country == "UK"


async def test_unique_violation_is_typed_and_writes_nothing(data: dict[str, Any]) -> None:
    before = await Author.objects.count()
    with pytest.raises(UniqueViolationError):
        await Author.objects.create(name="Dup", email="alice@x.io")
    assert await Author.objects.count() == before
    with pytest.raises(UniqueViolationError):
        await Author.objects.bulk_create(
            [Author(name=f"n{i}", email=f"n{i}@x.io") for i in range(5)]
            + [Author(name="dup", email="bob@x.io")],
            batch_size=2,
        )
    assert await Author.objects.count() == before


async def test_bad_input_raises_before_sql(data: dict[str, Any]) -> None:
    with pytest.raises(FieldError, match=r"Post has no field 'nope'.*valid fields: .*title"):
        Post.objects.filter(nope=1)
    with pytest.raises(FieldLookupError, match=r"unsupported lookup 'foo'.*valid lookups"):
        Post.objects.filter(views__foo=1)
    with pytest.raises(FieldLookupValueError):
        Post.objects.filter(views="many")
    with pytest.raises(FieldLookupValueError):
        Post.objects.filter(views__in="abc")
    with pytest.raises(FieldLookupValueError):
        Post.objects.filter(views__gte=None)
    with pytest.raises(FieldLookupValueError):
        Post.objects.filter(published_at__month=13)
    with pytest.raises(FieldLookupError):
        Post.objects.filter(title__year=2020)
    with pytest.raises(FieldError):
        Post.objects.order_by("-nope")
    with pytest.raises(FieldError):
        Post.objects.values("author__nope")
    with pytest.raises(ValueError):
        await Post.objects.bulk_create([Post(title="x")], batch_size=0)
    assert await Post.objects.bulk_create([]) == []
    with pytest.raises(ManagerError):
        await Post.objects.all(using="default", client=object())


async def test_execute_raw(data: dict[str, Any], database: Any) -> None:
    placeholder = {"postgres": "$1", "sqlite": "?", "mysql": "%s"}[database.dialect.name]
    rows = await execute_raw(f"SELECT name FROM it_company WHERE country = {placeholder}", ["US"])
    assert rows == [{"name": "Acme"}]


async def test_explain(data: dict[str, Any], database: Any) -> None:
    plan = await Post.objects.filter(views__gt=1).explain()
    assert isinstance(plan, str) and plan
    as_json = await Post.objects.filter(views__gt=1).explain(format="json")
    assert as_json
    if database.dialect.name == "sqlite":
        with pytest.raises(ManagerError, match="not supported on SQLite"):
            await Post.objects.explain(analyze=True)
    else:
        analyzed = await Post.objects.filter(views__gt=1).explain(analyze=True)
        assert isinstance(analyzed, str) and analyzed
        analyzed_json = await Post.objects.filter(views__gt=1).explain(analyze=True, format="json")
        assert analyzed_json


async def test_sql_and_ir_need_no_connection() -> None:
    sql, params = Post.objects.filter(views__gte=3, title__contains="a").sql("sqlite")
    assert sql.startswith("SELECT ")
    assert params == [3, "%a%", "%a%"]  # SQLite binds a pattern twice (NUL-safe LIKE)
    ir = Post.objects.filter(views=1).to_ir()
    assert ir["table"] == "it_post" and ir["values"] == [1]


async def test_join_loads_nested_relations_in_one_statement(data: dict[str, Any]) -> None:
    posts = await Post.objects.join("author__company").order_by("id").all()
    hello, world, snake, nobody = posts
    assert hello.author is not None and hello.author.name == "Alice"
    assert hello.author.company is not None and hello.author.company.name == "Acme"
    assert snake.author is not None and snake.author.company == data["globex"]
    assert nobody.author is None
    # one instance per related row, shared by the rows that refer to it (as the public Oxyde)
    assert world.author is hello.author
    carol_posts = await Post.objects.filter(author__name="Carol 50%").join("author").all()
    assert carol_posts == []
    joined = await Author.objects.join("company").filter(company__country="US").all()
    assert [(a.name, a.company.name if a.company else None) for a in joined] == [("Alice", "Acme")]
    sql, _ = Post.objects.join("author").filter(views__gt=1).sql("postgres")
    assert sql.count("LEFT JOIN") == 1
    with pytest.raises(FieldLookupError, match=r"forward foreign keys|no foreign key"):
        Author.objects.join("name")


async def test_exclude_keeps_rows_whose_column_is_null(data: dict[str, Any]) -> None:
    # as in Django: NOT (age = 30) also keeps the author whose age is unknown
    assert sorted(a.name for a in await Author.objects.exclude(age=30).all()) == [
        "Bob",
        "Carol 50%",
    ]
    assert await titles(Post.objects.exclude(author__name="Alice")) == ["Nobody", "Snake_case"]
    assert await titles(Post.objects.filter(~Q(author__company__country="US"))) == [
        "Nobody",
        "Snake_case",
    ]
