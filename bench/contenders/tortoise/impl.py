"""Tortoise ORM on the shared schema: asyncpg, aiosqlite or asyncmy underneath.

Joins use ``select_related`` (one SQL JOIN), prefetches ``prefetch_related``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tortoise import Tortoise, fields
from tortoise.expressions import Q
from tortoise.functions import Avg, Count, Max
from tortoise.models import Model
from worker.suite import Suite, Target, unique_email


class User(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=255, unique=True)
    age = fields.IntField()
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class Post(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=200)
    content = fields.TextField(default="")
    views = fields.IntField(default=0)
    created_at = fields.DatetimeField(null=True)

    class Meta:
        table = "posts"


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50, unique=True)

    class Meta:
        table = "tags"


class PostTag(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="post_tags", on_delete=fields.CASCADE
    )
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "models.Tag", related_name="post_tags", on_delete=fields.CASCADE
    )

    class Meta:
        table = "post_tags"


def _url(target: Target) -> str:
    pool = f"minsize={target.pool_size}&maxsize={target.pool_size}"
    if target.kind == "sqlite":
        return f"sqlite://{target.database}"
    auth = f"{target.user}:{target.password}"
    host = f"{target.host}:{target.port}/{target.database}"
    if target.kind == "postgres":
        return f"asyncpg://{auth}@{host}?{pool}"
    return f"mysql://{auth}@{host}?{pool}&charset=utf8mb4"


class Contender(Suite):
    packages = ("tortoise-orm", "asyncpg", "aiosqlite", "asyncmy", "pypika-tortoise")

    async def setup(self, target: Target) -> None:
        await Tortoise.init(
            db_url=_url(target),
            modules={"models": [__name__]},
            _enable_global_fallback=True,
        )
        # Connect now, not lazily inside the first timed operation.
        await User.all().count()

    async def teardown(self) -> None:
        await Tortoise.close_connections()

    async def insert_single(self) -> int:
        user = await User.create(name="TestUser", email=unique_email(), age=25)
        return int(user.id)

    async def insert_bulk(self, count: int) -> None:
        await User.bulk_create(
            [User(name=f"BulkUser{i}", email=unique_email(), age=20 + i % 50) for i in range(count)]
        )

    async def select_pk(self, pk: int) -> User:
        return await User.get(id=pk)

    async def select_filter(self) -> list[User]:
        return await User.filter(age__gte=18)

    async def update_single(self, pk: int) -> None:
        await User.filter(id=pk).update(name="Updated")

    async def update_bulk(self) -> int:
        return await User.filter(age__lt=18).update(is_active=False)

    async def delete_single(self, pk: int) -> None:
        await User.filter(id=pk).delete()

    async def filter_simple(self) -> list[User]:
        return await User.filter(name="User0")

    async def filter_complex(self) -> list[User]:
        return await User.filter((Q(age__gte=18) & Q(is_active=True)) | Q(name__startswith="A"))

    async def filter_in(self, ids: list[int]) -> list[User]:
        return await User.filter(id__in=ids)

    async def order_limit(self) -> list[User]:
        return await User.all().order_by("-created_at").limit(10)

    async def aggregate_count(self) -> int:
        return await User.all().count()

    async def aggregate_mixed(self) -> Any:
        rows = await User.annotate(
            count=Count("id"), avg_age=Avg("age"), max_age=Max("age")
        ).values("count", "avg_age", "max_age")
        return rows[0]

    async def join_simple(self) -> list[Post]:
        return await Post.all().select_related("user")

    async def join_filter(self) -> list[Post]:
        return await Post.filter(user__age__gte=18).select_related("user")

    async def prefetch_related(self) -> list[User]:
        return await User.all().prefetch_related("posts")

    async def nested_prefetch(self) -> list[User]:
        return await User.all().prefetch_related("posts__post_tags")

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(User.get(id=pk) for pk in pks)))
