"""SQLAlchemy 2 async ORM on the shared schema: asyncpg, aiosqlite or aiomysql underneath.

Idiomatic 2.0 style: one ``AsyncSession`` per operation, ``joinedload`` for the joins
(one SQL JOIN), ``selectinload`` for the prefetches, the ORM bulk ``insert()`` for
``insert_bulk_100``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.types import DateTime
from worker.suite import Suite, Target, unique_email


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    age: Mapped[int]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posts: Mapped[list[Post]] = relationship(back_populates="user")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text, default="")
    views: Mapped[int | None] = mapped_column(default=0)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user: Mapped[User] = relationship(back_populates="posts")
    post_tags: Mapped[list[PostTag]] = relationship(back_populates="post")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class PostTag(Base):
    __tablename__ = "post_tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    post: Mapped[Post] = relationship(back_populates="post_tags")


def _url(target: Target) -> str:
    if target.kind == "sqlite":
        return f"sqlite+aiosqlite:///{target.database}"
    auth = target.user + (f":{target.password}" if target.password else "")
    host = f"{target.host}:{target.port}/{target.database}"
    if target.kind == "postgres":
        return f"postgresql+asyncpg://{auth}@{host}"
    return f"mysql+aiomysql://{auth}@{host}?charset=utf8mb4"


class Contender(Suite):
    packages = ("SQLAlchemy", "greenlet", "asyncpg", "aiosqlite", "aiomysql")

    async def setup(self, target: Target) -> None:
        pool: dict[str, Any] = {}
        if target.kind != "sqlite":
            pool = {"pool_size": target.pool_size, "max_overflow": 0}
        self.engine = create_async_engine(_url(target), **pool)
        if target.kind == "sqlite":

            @event.listens_for(self.engine.sync_engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

        self.session = async_sessionmaker(self.engine, expire_on_commit=False)
        async with self.session() as s:
            await s.execute(select(func.count()).select_from(User))

    async def teardown(self) -> None:
        await self.engine.dispose()

    async def insert_single(self) -> int:
        async with self.session() as s:
            user = User(name="TestUser", email=unique_email(), age=25)
            s.add(user)
            await s.commit()
            return user.id

    async def insert_bulk(self, count: int) -> None:
        rows = [
            {"name": f"BulkUser{i}", "email": unique_email(), "age": 20 + i % 50, "is_active": True}
            for i in range(count)
        ]
        async with self.session() as s:
            await s.execute(insert(User), rows)
            await s.commit()

    async def select_pk(self, pk: int) -> User | None:
        async with self.session() as s:
            return await s.get(User, pk)

    async def _users(self, *where: Any) -> list[User]:
        async with self.session() as s:
            return list((await s.scalars(select(User).where(*where))).all())

    async def select_filter(self) -> list[User]:
        return await self._users(User.age >= 18)

    async def update_single(self, pk: int) -> None:
        async with self.session() as s:
            await s.execute(update(User).where(User.id == pk).values(name="Updated"))
            await s.commit()

    async def update_bulk(self) -> int:
        async with self.session() as s:
            result: Any = await s.execute(update(User).where(User.age < 18).values(is_active=False))
            await s.commit()
            return int(result.rowcount)

    async def delete_single(self, pk: int) -> None:
        async with self.session() as s:
            await s.execute(delete(User).where(User.id == pk))
            await s.commit()

    async def filter_simple(self) -> list[User]:
        return await self._users(User.name == "User0")

    async def filter_complex(self) -> list[User]:
        return await self._users(
            ((User.age >= 18) & (User.is_active.is_(True))) | User.name.startswith("A")
        )

    async def filter_in(self, ids: list[int]) -> list[User]:
        return await self._users(User.id.in_(ids))

    async def order_limit(self) -> list[User]:
        async with self.session() as s:
            query = select(User).order_by(User.created_at.desc()).limit(10)
            return list((await s.scalars(query)).all())

    async def aggregate_count(self) -> int:
        async with self.session() as s:
            return int(await s.scalar(select(func.count()).select_from(User)) or 0)

    async def aggregate_mixed(self) -> Any:
        async with self.session() as s:
            query = select(func.count(User.id), func.avg(User.age), func.max(User.age))
            return (await s.execute(query)).one()

    async def join_simple(self) -> list[Post]:
        async with self.session() as s:
            query = select(Post).options(joinedload(Post.user))
            return list((await s.scalars(query)).all())

    async def join_filter(self) -> list[Post]:
        async with self.session() as s:
            query = (
                select(Post).join(Post.user).where(User.age >= 18).options(joinedload(Post.user))
            )
            return list((await s.scalars(query)).all())

    async def prefetch_related(self) -> list[User]:
        async with self.session() as s:
            query = select(User).options(selectinload(User.posts))
            return list((await s.scalars(query)).all())

    async def nested_prefetch(self) -> list[User]:
        async with self.session() as s:
            query = select(User).options(selectinload(User.posts).selectinload(Post.post_tags))
            return list((await s.scalars(query)).all())

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(self.select_pk(pk) for pk in pks)))
