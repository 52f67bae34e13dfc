"""oxyde, through its public API only; the same file drives the public Oxyde release.

Both packages install as ``oxyde`` and share the documented API (models with ``Meta``,
``objects`` managers, ``join``/``prefetch``, ``Q`` and aggregates), so one implementation
measures both on identical code. Which one runs depends only on the virtualenv.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from worker import spec
from worker.suite import NotSupported, Suite, Target, unique_email

from oxyde import AsyncDatabase, Avg, Count, Field, Max, Model, PoolSettings, Q


class User(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=255, db_unique=True)
    age: int
    is_active: bool = True
    created_at: datetime | None = Field(default=None, db_default="CURRENT_TIMESTAMP")
    posts: list[Post] = Field(default_factory=list, db_reverse_fk="user")
    items: list[Item] = Field(default_factory=list, db_reverse_fk="user")

    class Meta:
        is_table = True
        table_name = "users"


class Post(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=200)
    content: str = ""
    views: int = 0
    created_at: datetime | None = Field(default=None, db_default="CURRENT_TIMESTAMP")
    user: User | None = Field(default=None, db_on_delete="CASCADE")
    post_tags: list[PostTag] = Field(default_factory=list, db_reverse_fk="post")

    class Meta:
        is_table = True
        table_name = "posts"


class Tag(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50, db_unique=True)

    class Meta:
        is_table = True
        table_name = "tags"


class PostTag(Model):
    id: int | None = Field(default=None, db_pk=True)
    post: Post | None = Field(default=None, db_on_delete="CASCADE")
    tag: Tag | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "post_tags"


class Item(Model):
    """The narrow rows of the ``large`` tests."""

    id: int | None = Field(default=None, db_pk=True)
    value: int
    label: str = Field(max_length=20)
    user: User | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "items"


for _model in (User, Post, Tag, PostTag, Item):
    # Pydantic needs the forward references resolved once all four classes exist.
    _model.model_rebuild()


def _feature(owner: Any, name: str) -> Any:
    """``owner.name``, or n/a for a query feature this build of oxyde does not have yet."""
    found = getattr(owner, name, None)
    if found is None:
        raise NotSupported(f"{type(owner).__name__}.{name}() is not available")
    return found


def _implementation() -> str:
    import oxyde

    return str(getattr(oxyde, "__impl__", "rust core"))


class Contender(Suite):
    packages = ("oxyde-cy", "oxyde", "oxyde-core", "pydantic", "psycopg", "apsw", "mysqlclient")

    async def setup(self, target: Target) -> None:
        if self.options.get("unsliced"):
            # Large results converted and loaded in one piece, as before they yielded to
            # the loop: the same run then shows what slicing costs and what it buys.
            from oxyde import _slicing

            _slicing.FIRST_SLICE = 10**12
        settings = PoolSettings(min_connections=target.pool_size, max_connections=target.pool_size)
        self.db = AsyncDatabase(target.url, name="default", settings=settings, overwrite=True)
        await self.db.connect()

    async def teardown(self) -> None:
        await self.db.disconnect()

    def versions(self) -> dict[str, str]:
        found = {k: v for k, v in super().versions().items() if v != "?"}
        found["implementation"] = _implementation()
        return found

    async def insert_single(self) -> int | None:
        user = await User.objects.create(name="TestUser", email=unique_email(), age=25)
        return user.id

    async def insert_bulk(self, count: int) -> None:
        await User.objects.bulk_create(
            [User(name=f"BulkUser{i}", email=unique_email(), age=20 + i % 50) for i in range(count)]
        )

    async def select_pk(self, pk: int) -> User:
        return await User.objects.get(id=pk)

    async def select_filter(self) -> list[User]:
        return await User.objects.filter(age__gte=18).all()

    async def update_single(self, pk: int) -> None:
        await User.objects.filter(id=pk).update(name="Updated")

    async def update_bulk(self) -> Any:
        return await User.objects.filter(age__lt=18).update(is_active=False)

    async def delete_single(self, pk: int) -> None:
        await User.objects.filter(id=pk).delete()

    async def filter_simple(self) -> list[User]:
        return await User.objects.filter(name="User0").all()

    async def filter_complex(self) -> list[User]:
        return await User.objects.filter(
            (Q(age__gte=18) & Q(is_active=True)) | Q(name__startswith="A")
        ).all()

    async def filter_in(self, ids: list[int]) -> list[User]:
        return await User.objects.filter(id__in=ids).all()

    async def order_limit(self) -> list[User]:
        return await User.objects.order_by("-created_at").limit(10).all()

    async def aggregate_count(self) -> int:
        return await User.objects.count()

    async def aggregate_mixed(self) -> Any:
        manager: Any = User.objects
        if hasattr(manager, "aggregate"):
            # oxyde's one-statement aggregate(); the public release has only the form below.
            return await manager.aggregate(count=Count("*"), avg_age=Avg("age"), max_age=Max("age"))
        rows = (
            await manager.annotate(count=Count("*"), avg_age=Avg("age"), max_age=Max("age"))
            .values("count", "avg_age", "max_age")
            .all()
        )
        return rows[0]

    async def join_simple(self) -> list[Post]:
        return await _feature(Post.objects, "join")("user").all()

    async def join_filter(self) -> list[Post]:
        return await _feature(Post.objects, "join")("user").filter(user__age__gte=18).all()

    async def prefetch_related(self) -> list[User]:
        return await _feature(User.objects, "prefetch")("posts").all()

    async def nested_prefetch(self) -> list[User]:
        return await _feature(User.objects, "prefetch")("posts__post_tags").all()

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(User.objects.get(id=pk) for pk in pks)))

    async def large_all_100k(self) -> list[Item]:
        return await Item.objects.all()

    async def large_values_100k(self) -> list[Any]:
        return await Item.objects.values_list("id", "value", "label").all()

    async def large_join_20k(self) -> list[Item]:
        query = _feature(Item.objects, "join")("user")
        return await query.filter(id__lte=spec.LARGE_JOIN_ROWS).all()

    async def large_prefetch_100k(self) -> list[User]:
        return await _feature(User.objects, "prefetch")("items").all()
