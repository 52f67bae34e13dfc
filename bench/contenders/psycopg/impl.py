"""Raw psycopg 3 async with psycopg_pool: the PostgreSQL limit for a psycopg-based ORM.

Tuple rows, autocommit connections (one statement, one round trip), psycopg's automatic
prepared statements; ``IN`` lists bind one array (``= ANY(%s)``); prefetches are the
equivalent ``ANY`` queries grouped into dicts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from psycopg_pool import AsyncConnectionPool
from worker import spec
from worker.suite import Suite, Target, unique_email

USER_COLS = "id, name, email, age, is_active, created_at"
POST_COLS = "id, user_id, title, content, views, created_at"
JOIN_SQL = (
    "SELECT p.id, p.user_id, p.title, p.content, p.views, p.created_at, "
    "u.id, u.name, u.email, u.age, u.is_active, u.created_at "
    "FROM posts p JOIN users u ON u.id = p.user_id"
)
ITEM_COLS = "id, user_id, value, label"
LARGE_JOIN_SQL = (
    "SELECT i.id, i.user_id, i.value, i.label, "
    "u.id, u.name, u.email, u.age, u.is_active, u.created_at "
    "FROM items i JOIN users u ON u.id = i.user_id WHERE i.id <= %s"
)


class Contender(Suite):
    packages = ("psycopg", "psycopg-binary", "psycopg-pool")

    async def setup(self, target: Target) -> None:
        conninfo = (
            f"host={target.host} port={target.port} user={target.user} "
            f"dbname={target.database}"
            + (f" password={target.password}" if target.password else "")
        )
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=target.pool_size,
            max_size=target.pool_size,
            kwargs={"autocommit": True},
            open=False,
        )
        await self.pool.open(wait=True)

    async def teardown(self) -> None:
        await self.pool.close()

    async def _all(self, sql: str, params: Any = None) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def _one(self, sql: str, params: Any = None) -> Any:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchone()

    async def _run(self, sql: str, params: Any = None) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def insert_single(self) -> int:
        row = await self._one(
            "INSERT INTO users (name, email, age, is_active) VALUES (%s, %s, %s, %s) RETURNING id",
            ("TestUser", unique_email(), 25, True),
        )
        return int(row[0])

    async def insert_bulk(self, count: int) -> None:
        rows = [(f"BulkUser{i}", unique_email(), 20 + i % 50, True) for i in range(count)]
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            # executemany pipelines the statements: one round trip for the batch.
            await cur.executemany(
                "INSERT INTO users (name, email, age, is_active) VALUES (%s, %s, %s, %s)", rows
            )

    async def select_pk(self, pk: int) -> Any:
        return await self._one(f"SELECT {USER_COLS} FROM users WHERE id = %s", (pk,))

    async def select_filter(self) -> list[Any]:
        return await self._all(f"SELECT {USER_COLS} FROM users WHERE age >= %s", (18,))

    async def update_single(self, pk: int) -> None:
        await self._run("UPDATE users SET name = %s WHERE id = %s", ("Updated", pk))

    async def update_bulk(self) -> int:
        return await self._run("UPDATE users SET is_active = %s WHERE age < %s", (False, 18))

    async def delete_single(self, pk: int) -> None:
        await self._run("DELETE FROM users WHERE id = %s", (pk,))

    async def filter_simple(self) -> list[Any]:
        return await self._all(f"SELECT {USER_COLS} FROM users WHERE name = %s", ("User0",))

    async def filter_complex(self) -> list[Any]:
        return await self._all(
            f"SELECT {USER_COLS} FROM users WHERE (age >= %s AND is_active = %s) OR name LIKE %s",
            (18, True, "A%"),
        )

    async def filter_in(self, ids: list[int]) -> list[Any]:
        return await self._all(f"SELECT {USER_COLS} FROM users WHERE id = ANY(%s)", (ids,))

    async def order_limit(self) -> list[Any]:
        return await self._all(
            f"SELECT {USER_COLS} FROM users ORDER BY created_at DESC LIMIT %s", (10,)
        )

    async def aggregate_count(self) -> int:
        row = await self._one("SELECT COUNT(*) FROM users")
        return int(row[0])

    async def aggregate_mixed(self) -> Any:
        return await self._one("SELECT COUNT(*), AVG(age), MAX(age) FROM users")

    async def join_simple(self) -> list[Any]:
        return await self._all(JOIN_SQL)

    async def join_filter(self) -> list[Any]:
        return await self._all(JOIN_SQL + " WHERE u.age >= %s", (18,))

    async def _users_with_posts(self) -> tuple[list[Any], dict[int, list[Any]]]:
        async with self.pool.connection() as conn:
            users = await (await conn.execute(f"SELECT {USER_COLS} FROM users")).fetchall()
            cur = await conn.execute(
                f"SELECT {POST_COLS} FROM posts WHERE user_id = ANY(%s)", ([u[0] for u in users],)
            )
            grouped: dict[int, list[Any]] = defaultdict(list)
            for post in await cur.fetchall():
                grouped[post[1]].append(post)
        return users, grouped

    async def prefetch_related(self) -> list[Any]:
        users, posts = await self._users_with_posts()
        return [(user, posts.get(user[0], [])) for user in users]

    async def nested_prefetch(self) -> list[Any]:
        users, posts = await self._users_with_posts()
        post_ids = [p[0] for group in posts.values() for p in group]
        tags: dict[int, list[Any]] = defaultdict(list)
        for link in await self._all(
            "SELECT id, post_id, tag_id FROM post_tags WHERE post_id = ANY(%s)", (post_ids,)
        ):
            tags[link[1]].append(link)
        return [
            (user, [(post, tags.get(post[0], [])) for post in posts.get(user[0], [])])
            for user in users
        ]

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(self.select_pk(pk) for pk in pks)))

    async def large_all_100k(self) -> list[Any]:
        return await self._all(f"SELECT {ITEM_COLS} FROM items")

    async def large_values_100k(self) -> list[Any]:
        return await self._all("SELECT id, value, label FROM items")

    async def large_join_20k(self) -> list[Any]:
        return await self._all(LARGE_JOIN_SQL, (spec.LARGE_JOIN_ROWS,))

    async def large_prefetch_100k(self) -> list[Any]:
        async with self.pool.connection() as conn:
            users = await (await conn.execute(f"SELECT {USER_COLS} FROM users")).fetchall()
            cur = await conn.execute(
                f"SELECT {ITEM_COLS} FROM items WHERE user_id = ANY(%s)", ([u[0] for u in users],)
            )
            grouped: dict[int, list[Any]] = defaultdict(list)
            for item in await cur.fetchall():
                grouped[item[1]].append(item)
        return [(user, grouped.get(user[0], [])) for user in users]
