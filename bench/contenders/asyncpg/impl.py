"""Raw asyncpg with its own pool: PostgreSQL's fastest Python driver, as a second limit.

Records as rows, prepared statements (asyncpg's statement cache), ``= ANY($1)`` for lists;
prefetches are the equivalent ``ANY`` queries grouped into dicts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import asyncpg
from worker import spec
from worker.suite import Suite, Target, unique_email

USER_COLS = "id, name, email, age, is_active, created_at"
POST_COLS = "id, user_id, title, content, views, created_at"
JOIN_SQL = (
    "SELECT p.id, p.user_id, p.title, p.content, p.views, p.created_at, "
    "u.id AS u_id, u.name, u.email, u.age, u.is_active, u.created_at AS u_created_at "
    "FROM posts p JOIN users u ON u.id = p.user_id"
)


ITEM_COLS = "id, user_id, value, label"
LARGE_JOIN_SQL = (
    "SELECT i.id, i.user_id, i.value, i.label, "
    "u.id AS u_id, u.name, u.email, u.age, u.is_active, u.created_at AS u_created_at "
    "FROM items i JOIN users u ON u.id = i.user_id WHERE i.id <= $1"
)


class Contender(Suite):
    packages = ("asyncpg",)

    async def setup(self, target: Target) -> None:
        self.pool = await asyncpg.create_pool(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password or None,
            database=target.database,
            min_size=target.pool_size,
            max_size=target.pool_size,
        )

    async def teardown(self) -> None:
        await self.pool.close()

    async def insert_single(self) -> int:
        return int(
            await self.pool.fetchval(
                "INSERT INTO users (name, email, age, is_active) VALUES ($1, $2, $3, $4) "
                "RETURNING id",
                "TestUser",
                unique_email(),
                25,
                True,
            )
        )

    async def insert_bulk(self, count: int) -> None:
        rows = [(f"BulkUser{i}", unique_email(), 20 + i % 50, True) for i in range(count)]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO users (name, email, age, is_active) VALUES ($1, $2, $3, $4)", rows
            )

    async def select_pk(self, pk: int) -> Any:
        return await self.pool.fetchrow(f"SELECT {USER_COLS} FROM users WHERE id = $1", pk)

    async def select_filter(self) -> list[Any]:
        return await self.pool.fetch(f"SELECT {USER_COLS} FROM users WHERE age >= $1", 18)

    async def update_single(self, pk: int) -> None:
        await self.pool.execute("UPDATE users SET name = $1 WHERE id = $2", "Updated", pk)

    async def update_bulk(self) -> str:
        return str(
            await self.pool.execute("UPDATE users SET is_active = $1 WHERE age < $2", False, 18)
        )

    async def delete_single(self, pk: int) -> None:
        await self.pool.execute("DELETE FROM users WHERE id = $1", pk)

    async def filter_simple(self) -> list[Any]:
        return await self.pool.fetch(f"SELECT {USER_COLS} FROM users WHERE name = $1", "User0")

    async def filter_complex(self) -> list[Any]:
        return await self.pool.fetch(
            f"SELECT {USER_COLS} FROM users WHERE (age >= $1 AND is_active = $2) OR name LIKE $3",
            18,
            True,
            "A%",
        )

    async def filter_in(self, ids: list[int]) -> list[Any]:
        return await self.pool.fetch(f"SELECT {USER_COLS} FROM users WHERE id = ANY($1)", ids)

    async def order_limit(self) -> list[Any]:
        return await self.pool.fetch(
            f"SELECT {USER_COLS} FROM users ORDER BY created_at DESC LIMIT $1", 10
        )

    async def aggregate_count(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM users"))

    async def aggregate_mixed(self) -> Any:
        return await self.pool.fetchrow("SELECT COUNT(*), AVG(age), MAX(age) FROM users")

    async def join_simple(self) -> list[Any]:
        return await self.pool.fetch(JOIN_SQL)

    async def join_filter(self) -> list[Any]:
        return await self.pool.fetch(JOIN_SQL + " WHERE u.age >= $1", 18)

    async def _users_with_posts(self) -> tuple[list[Any], dict[int, list[Any]]]:
        async with self.pool.acquire() as conn:
            users = await conn.fetch(f"SELECT {USER_COLS} FROM users")
            grouped: dict[int, list[Any]] = defaultdict(list)
            for post in await conn.fetch(
                f"SELECT {POST_COLS} FROM posts WHERE user_id = ANY($1)", [u[0] for u in users]
            ):
                grouped[post[1]].append(post)
        return users, grouped

    async def prefetch_related(self) -> list[Any]:
        users, posts = await self._users_with_posts()
        return [(user, posts.get(user[0], [])) for user in users]

    async def nested_prefetch(self) -> list[Any]:
        users, posts = await self._users_with_posts()
        post_ids = [p[0] for group in posts.values() for p in group]
        tags: dict[int, list[Any]] = defaultdict(list)
        for link in await self.pool.fetch(
            "SELECT id, post_id, tag_id FROM post_tags WHERE post_id = ANY($1)", post_ids
        ):
            tags[link[1]].append(link)
        return [
            (user, [(post, tags.get(post[0], [])) for post in posts.get(user[0], [])])
            for user in users
        ]

    async def concurrent(self, pks: list[int]) -> list[Any]:
        return list(await asyncio.gather(*(self.select_pk(pk) for pk in pks)))

    async def large_all_100k(self) -> list[Any]:
        return await self.pool.fetch(f"SELECT {ITEM_COLS} FROM items")

    async def large_values_100k(self) -> list[Any]:
        return await self.pool.fetch("SELECT id, value, label FROM items")

    async def large_join_20k(self) -> list[Any]:
        return await self.pool.fetch(LARGE_JOIN_SQL, spec.LARGE_JOIN_ROWS)

    async def large_prefetch_100k(self) -> list[Any]:
        async with self.pool.acquire() as conn:
            users = await conn.fetch(f"SELECT {USER_COLS} FROM users")
            grouped: dict[int, list[Any]] = defaultdict(list)
            for item in await conn.fetch(
                f"SELECT {ITEM_COLS} FROM items WHERE user_id = ANY($1)", [u[0] for u in users]
            ):
                grouped[item[1]].append(item)
        return [(user, grouped.get(user[0], [])) for user in users]
