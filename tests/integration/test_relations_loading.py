"""Loading relations: prefetch() of reverse FKs and many-to-many, nested and through
forward FKs, with one extra statement per relation and level; and relations that were
not loaded, which never run a query and say so when read."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from oxyde import (
    Field,
    FieldLookupError,
    ManagerError,
    Model,
    OperationalError,
    RelationNotLoadedError,
    atomic,
    events,
)


class RelCompany(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "rel_company"


class RelTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    posts: list[RelPost] = Field(db_m2m=True, db_through="RelPostTag")

    class Meta:
        is_table = True
        table_name = "rel_tag"
        ordering = ("name",)


class RelAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    company: RelCompany | None = Field(default=None, db_on_delete="SET NULL")
    posts: list[RelPost] = Field(db_reverse_fk="author")

    class Meta:
        is_table = True
        table_name = "rel_author"


class RelPost(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=100)
    views: int = 0
    author: RelAuthor | None = Field(default=None, db_on_delete="CASCADE")
    tags: list[RelTag] = Field(db_m2m=True, db_through="RelPostTag")
    comments: list[RelComment] = Field(db_reverse_fk="post")

    class Meta:
        is_table = True
        table_name = "rel_post"


class RelComment(Model):
    id: int | None = Field(default=None, db_pk=True)
    body: str = Field(max_length=100)
    rank: int = 0
    post: RelPost = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "rel_comment"
        # ties broken by primary key
        ordering = ("-rank",)


class RelPostTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    post: RelPost = Field(db_on_delete="CASCADE")
    tag: RelTag = Field(db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "rel_post_tag"


MODELS = (RelCompany, RelTag, RelAuthor, RelPost, RelComment, RelPostTag)


class Statements(logging.Handler):
    """Every statement oxyde runs, from the ``oxyde.sql`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage().split(": ", 1)[1])

    def clear(self) -> None:
        self.sql.clear()

    def selects(self) -> list[str]:
        return [s for s in self.sql if s.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def statements() -> Iterator[Statements]:
    logger = logging.getLogger("oxyde.sql")
    handler = Statements()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
async def data(model_tables: Any) -> AsyncIterator[dict[str, Any]]:
    await model_tables(*MODELS)
    acme = await RelCompany.objects.create(name="Acme")
    ann = await RelAuthor.objects.create(name="Ann", company=acme)
    bob = await RelAuthor.objects.create(name="Bob")
    cid = await RelAuthor.objects.create(name="Cid")  # no posts
    p1 = await RelPost.objects.create(title="p1", views=5, author=ann)
    p2 = await RelPost.objects.create(title="p2", views=1, author=bob)
    p3 = await RelPost.objects.create(title="p3", views=9, author=ann)
    p4 = await RelPost.objects.create(title="p4", views=0)  # no author
    red = await RelTag.objects.create(name="red")
    blue = await RelTag.objects.create(name="blue")
    await RelTag.objects.create(name="unused")
    for post, tag in ((p1, red), (p1, blue), (p2, red), (p3, blue)):
        await RelPostTag.objects.create(post=post, tag=tag)
    await RelComment.objects.bulk_create(
        [
            RelComment(body="first", rank=1, post_id=p1.id),
            RelComment(body="best", rank=5, post_id=p1.id),
            RelComment(body="also first", rank=1, post_id=p1.id),
            RelComment(body="lonely", rank=0, post_id=p3.id),
        ]
    )
    yield {"ann": ann, "bob": bob, "cid": cid, "posts": [p1, p2, p3, p4], "acme": acme}


def titles(posts: list[Any]) -> list[str]:
    return [p.title for p in posts]


# -- prefetch -----------------------------------------------------------------------------


async def test_prefetch_reverse_fk(data: dict[str, Any], statements: Statements) -> None:
    authors = await RelAuthor.objects.prefetch("posts").order_by("name").all()
    assert [(a.name, titles(a.posts)) for a in authors] == [
        ("Ann", ["p1", "p3"]),  # primary-key order: RelPost has no Meta.ordering
        ("Bob", ["p2"]),
        ("Cid", []),  # loaded, and empty
    ]
    assert len(statements.selects()) == 2
    assert all(p.author_id == authors[0].id for p in authors[0].posts)
    # what was prefetched is part of the instance, and serialises with it
    assert authors[2].model_dump()["posts"] == []
    assert [p["title"] for p in authors[0].model_dump()["posts"]] == ["p1", "p3"]


async def test_prefetch_many_to_many(data: dict[str, Any], statements: Statements) -> None:
    posts = await RelPost.objects.prefetch("tags").order_by("title").all()
    # the target's Meta.ordering (name) applies to each list
    assert [(p.title, [t.name for t in p.tags]) for p in posts] == [
        ("p1", ["blue", "red"]),
        ("p2", ["red"]),
        ("p3", ["blue"]),
        ("p4", []),
    ]
    # the through rows and the tags come in one joined statement
    assert len(statements.selects()) == 2
    # one instance per tag row, shared by the posts linked to it
    assert posts[0].tags[1] is posts[1].tags[0]

    tags = await RelTag.objects.prefetch("posts").all()
    assert [(t.name, titles(t.posts)) for t in tags] == [
        ("blue", ["p1", "p3"]),
        ("red", ["p1", "p2"]),
        ("unused", []),
    ]


async def test_prefetch_nested_two_levels(data: dict[str, Any], statements: Statements) -> None:
    authors = (
        await RelAuthor.objects.prefetch("posts__tags", "posts__comments").order_by("id").all()
    )
    ann, bob, cid = authors
    assert titles(ann.posts) == ["p1", "p3"] and cid.posts == []
    p1, p3 = ann.posts
    assert [t.name for t in p1.tags] == ["blue", "red"]
    # Meta.ordering ("-rank"), ties in primary-key order
    assert [c.body for c in p1.comments] == ["best", "first", "also first"]
    assert [c.body for c in p3.comments] == ["lonely"]
    assert [t.name for t in bob.posts[0].tags] == ["red"] and bob.posts[0].comments == []
    # authors, posts, then one statement each for tags and comments
    assert len(statements.selects()) == 4

    statements.clear()
    # a reverse FK below a many-to-many, and a path given twice loads once
    tags = await RelTag.objects.prefetch("posts__comments", "posts").all()
    blue = tags[0]
    assert titles(blue.posts) == ["p1", "p3"]
    assert [c.body for c in blue.posts[0].comments] == ["best", "first", "also first"]
    assert len(statements.selects()) == 3


async def test_prefetch_through_a_forward_fk(data: dict[str, Any], statements: Statements) -> None:
    posts = await RelPost.objects.prefetch("author__posts").order_by("title").all()
    p1, p2, p3, p4 = posts
    assert p1.author is not None and p1.author.name == "Ann"
    assert titles(p1.author.posts) == ["p1", "p3"]
    # posts of one author share the author instance
    assert p1.author is p3.author
    assert p2.author is not None and titles(p2.author.posts) == ["p2"]
    assert p4.author is None  # loaded: the post has no author
    assert len(statements.selects()) == 3

    statements.clear()
    # join() loaded the authors already: only the posts cost a statement
    joined = await RelPost.objects.join("author__company").prefetch("author__posts").all()
    assert len(statements.selects()) == 2
    first = next(p for p in joined if p.title == "p1")
    assert first.author is not None and first.author.company is not None
    assert first.author.company.name == "Acme"
    assert titles(first.author.posts) == ["p1", "p3"]
    # a forward FK on its own can be prefetched too
    statements.clear()
    companies = [
        a.company for a in await RelAuthor.objects.prefetch("company").order_by("id").all()
    ]
    assert [c.name if c else None for c in companies] == ["Acme", None, None]
    assert len(statements.selects()) == 2


async def test_prefetch_with_filter_order_and_single_rows(
    data: dict[str, Any], statements: Statements
) -> None:
    posts = (
        await RelPost.objects.filter(views__gte=1)
        .order_by("-views")
        .prefetch("tags", "comments")
        .all()
    )
    assert [(p.title, [t.name for t in p.tags], len(p.comments)) for p in posts] == [
        ("p3", ["blue"], 1),
        ("p1", ["blue", "red"], 3),
        ("p2", ["red"], 0),
    ]
    # relations of rows the filter left out are not loaded
    assert "p4" not in titles(posts)

    ann = await RelAuthor.objects.prefetch("posts").get(name="Ann")
    assert titles(ann.posts) == ["p1", "p3"]
    first = await RelPost.objects.filter(title__startswith="p").prefetch("tags").first()
    assert first is not None and [t.name for t in first.tags] == ["blue", "red"]
    last = await RelPost.objects.prefetch("tags").last()
    assert last is not None and last.title == "p4" and last.tags == []
    sliced = await RelAuthor.objects.order_by("id").prefetch("posts")[1:2].all()
    assert [(a.name, titles(a.posts)) for a in sliced] == [("Bob", ["p2"])]

    statements.clear()
    # nothing matched: the relations cost nothing
    assert await RelAuthor.objects.filter(name="Nobody").prefetch("posts__tags").all() == []
    assert len(statements.selects()) == 1


async def test_prefetch_per_chunk_of_an_iterator(
    data: dict[str, Any], statements: Statements
) -> None:
    seen = [
        (a.name, titles(a.posts))
        async for a in RelAuthor.objects.order_by("id").prefetch("posts").iterator(chunk_size=2)
    ]
    assert seen == [("Ann", ["p1", "p3"]), ("Bob", ["p2"]), ("Cid", [])]
    # one posts statement per chunk of authors
    assert len([s for s in statements.selects() if 'FROM "rel_post"' in s.replace("`", '"')]) == 2


async def test_iterator_with_prefetch_inside_a_transaction(
    data: dict[str, Any], backend_name: str
) -> None:
    stream = RelAuthor.objects.order_by("id").prefetch("posts").iterator(chunk_size=2)
    async with atomic():
        if backend_name == "mysql":
            # MySQL cannot run a statement while it streams a result on the connection
            with pytest.raises(OperationalError, match="streamed result"):
                _ = [a async for a in stream]
        else:
            assert [len(a.posts) async for a in stream] == [2, 1, 0]
        # either way the stream is closed and the transaction goes on
        assert await RelAuthor.objects.count() == 3
    assert await RelPost.objects.count() == 4


async def test_prefetch_inside_a_transaction_sees_its_writes(data: dict[str, Any]) -> None:
    async with atomic() as tx:
        dan = await RelAuthor.objects.create(name="Dan")
        await RelPost.objects.create(title="draft", author=dan)
        loaded = await RelAuthor.objects.filter(name="Dan").prefetch("posts").get()
        assert titles(loaded.posts) == ["draft"]
        tx.set_rollback(True)
    assert await RelAuthor.objects.filter(name="Dan").count() == 0


async def test_prefetch_of_many_parents(model_tables: Any, database: Any) -> None:
    # more keys than one statement takes where IN lists take one placeholder per key
    # (Dialect.in_list_size: the bound-parameter limit, or a smaller batch that is faster)
    dialect = database.dialect
    per = dialect.in_list_size()
    await model_tables(*MODELS)
    count = 5_010 if dialect.array_in else per + 10
    authors = await RelAuthor.objects.bulk_create([RelAuthor(name=f"a{i}") for i in range(count)])
    # a post every 500 authors, and on the last one (in the last batch of keys)
    posted = [*range(0, count, 500), count - 1]
    await RelPost.objects.bulk_create(
        [RelPost(title=f"t{i}", author_id=authors[i].id) for i in posted]
    )
    statements: list[str] = []
    hook = events.add_query_hook(before=lambda event: statements.append(event.sql))
    try:
        loaded = await RelAuthor.objects.prefetch("posts").order_by("id").all()
    finally:
        hook.remove()
    with_posts = [(a.name, titles(a.posts)) for a in loaded if a.posts]
    assert with_posts == [(f"a{i}", [f"t{i}"]) for i in posted]
    assert sum(len(a.posts) for a in loaded) == len(posted)
    # the parents' statement, then one per batch of keys
    assert len(statements) == 1 + (1 if dialect.array_in else math.ceil(count / per))
    if dialect.name == "sqlite":
        # small enough for apsw to keep prepared: every full batch reuses one statement
        import apsw

        cacheable = apsw.Connection(":memory:").cache_stats()["max_cacheable_bytes"]
        assert max(len(s.encode()) for s in statements) <= cacheable


async def test_prefetched_lists_are_in_key_order_whatever_order_the_rows_come_in(
    model_tables: Any,
) -> None:
    # Inserted out of key order and interleaved between parents: a scan returns them in
    # insertion order, so the lists are in key order only if prefetch() puts them there.
    await model_tables(*MODELS)
    ann = await RelAuthor.objects.create(name="Ann")
    bob = await RelAuthor.objects.create(name="Bob")
    for pk, author in ((30, ann), (25, bob), (10, ann), (5, bob), (20, ann), (15, bob)):
        await RelPost.objects.create(id=pk, title=f"t{pk}", author=author)
    loaded = await RelAuthor.objects.prefetch("posts").order_by("name").all()
    assert [[p.id for p in a.posts] for a in loaded] == [[10, 20, 30], [5, 15, 25]]
    # a target with its own ordering keeps it, ties broken by key
    post = await RelPost.objects.get(id=10)
    for pk, rank in ((9, 1), (3, 5), (7, 1), (1, 0)):
        await RelComment.objects.create(id=pk, body=f"c{pk}", rank=rank, post_id=post.id)
    (reloaded,) = await RelPost.objects.filter(id=10).prefetch("comments").all()
    assert [c.id for c in reloaded.comments] == [3, 7, 9, 1]


async def test_prefetch_paths_are_checked_before_any_sql(
    data: dict[str, Any], statements: Statements
) -> None:
    statements.clear()
    with pytest.raises(FieldLookupError, match=r"RelAuthor has no relation 'postz'.*posts"):
        RelAuthor.objects.prefetch("postz")
    with pytest.raises(FieldLookupError, match=r"RelPost\.title is not a relation"):
        RelAuthor.objects.prefetch("posts__title")
    with pytest.raises(FieldLookupError, match=r"prefetch\(\) takes relation paths"):
        RelAuthor.objects.prefetch("")
    with pytest.raises(ManagerError, match=r"values\(\)"):
        await RelAuthor.objects.prefetch("posts").values("name").all()
    with pytest.raises(ManagerError, match=r"mode"):
        await RelAuthor.objects.prefetch("posts").all(mode="dict")
    assert statements.sql == []


# -- unloaded relations --------------------------------------------------------------------


async def test_unloaded_relations_raise_instead_of_reading_empty(
    data: dict[str, Any], statements: Statements
) -> None:
    post = await RelPost.objects.get(title="p1")
    ann = await RelAuthor.objects.get(name="Ann")
    statements.clear()
    with pytest.raises(RelationNotLoadedError, match=r"RelPost\.author .*join\('author'\)") as exc:
        _ = post.author
    assert (exc.value.model, exc.value.relation) == ("RelPost", "author")
    with pytest.raises(RelationNotLoadedError, match=r"RelAuthor\.posts .*prefetch\('posts'\)"):
        _ = ann.posts
    with pytest.raises(RelationNotLoadedError, match=r"RelPost\.tags .*prefetch\('tags'\)"):
        _ = post.tags
    # the same holds for the related rows a prefetch loaded, one level further
    (loaded,) = await RelAuthor.objects.filter(name="Ann").prefetch("posts").all()
    with pytest.raises(RelationNotLoadedError, match=r"RelPost\.tags"):
        _ = loaded.posts[0].tags
    # no I/O on access: the only statement above is the prefetching query's
    assert len(statements.selects()) == 2
    # the key of a forward FK is a plain column and always there
    assert post.author_id == data["ann"].id
    # select() loads some columns; relations stay unloaded
    (partial,) = await RelPost.objects.filter(title="p1").select("id", "title").all()
    with pytest.raises(RelationNotLoadedError):
        _ = partial.author


async def test_loaded_none_and_empty_read_as_themselves(data: dict[str, Any]) -> None:
    orphan = await RelPost.objects.join("author").get(title="p4")
    assert orphan.author is None and orphan.author_id is None
    cid = await RelAuthor.objects.prefetch("posts").get(name="Cid")
    assert cid.posts == []
    # join("author__company") on a post without author: the author is None, and the
    # author of another post has its company loaded (here: None)
    posts = await RelPost.objects.join("author__company").order_by("title").all()
    bob_post = posts[1]
    assert bob_post.author is not None and bob_post.author.company is None


async def test_assigning_a_relation_loads_it(data: dict[str, Any]) -> None:
    post = await RelPost.objects.get(title="p2")
    post.author = data["ann"]
    assert post.author is data["ann"]
    post.author_id = data["ann"].id
    await post.save()
    reread = await RelPost.objects.join("author").get(title="p2")
    assert reread.author is not None and reread.author.name == "Ann"


async def test_hand_built_instances_keep_their_relations(data: dict[str, Any]) -> None:
    ann = data["ann"]
    post = RelPost(title="new", author=ann)
    # the key follows the relation
    assert post.author is ann and post.author_id == ann.id and post.tags == []
    await post.save()
    assert post.author_id == ann.id
    fresh = RelPost(title="fresh")
    assert fresh.author is None and fresh.comments == []


async def test_serialising_leaves_unloaded_relations_out(data: dict[str, Any]) -> None:
    post = await RelPost.objects.get(title="p1")
    dumped = post.model_dump()
    assert dumped == {"id": post.id, "title": "p1", "views": 5, "author_id": data["ann"].id}
    again = RelPost.model_validate_json(post.model_dump_json())
    assert again.model_dump(exclude={"author", "tags", "comments"}) == dumped
    joined = await RelPost.objects.join("author").prefetch("tags").get(title="p4")
    assert joined.model_dump()["author"] is None and joined.model_dump()["tags"] == []
    assert "comments" not in joined.model_dump()
    # copies and equality work on what the instance holds
    assert post.model_copy() == post
    assert post != joined


async def test_fastapi_responses_of_loaded_instances(data: dict[str, Any]) -> None:
    fastapi = pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")

    app = fastapi.FastAPI()

    @app.get("/posts")
    async def list_posts() -> list[RelPost]:
        return await RelPost.objects.order_by("title").all()

    @app.get("/authors")
    async def list_authors() -> list[RelAuthor]:
        return await RelAuthor.objects.prefetch("posts").order_by("id").all()

    @app.get("/joined")
    async def joined_posts() -> list[RelPost]:
        return await RelPost.objects.order_by("title").join("author").all()

    @app.get("/raw")
    async def raw_post() -> Any:
        return await RelPost.objects.join("author").get(title="p1")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        posts = (await client.get("/posts")).json()
        authors = (await client.get("/authors")).json()
        raw = (await client.get("/raw")).json()
        joined = (await client.get("/joined")).json()
    # the response holds the columns and what was loaded, nothing invented
    ann = data["ann"]
    assert posts[0] == {"id": posts[0]["id"], "title": "p1", "views": 5, "author_id": ann.id}
    assert [p["title"] for p in posts] == ["p1", "p2", "p3", "p4"]
    assert [[p["title"] for p in a["posts"]] for a in authors] == [["p1", "p3"], ["p2"], []]
    assert "company" not in authors[0] and "tags" not in authors[0]["posts"][0]
    assert joined[0]["author"] == {"id": ann.id, "name": "Ann", "company_id": ann.company_id}
    assert joined[3]["author"] is None and "tags" not in joined[3]
    assert raw["author"]["name"] == "Ann" and "tags" not in raw
