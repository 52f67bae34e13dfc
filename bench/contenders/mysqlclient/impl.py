"""Raw mysqlclient: the MariaDB / MySQL limit for a thread-based async library.

A pool of autocommit connections, each with its own single worker thread (mysqlclient
releases the GIL while it waits on the server); every call is handed to the connection's
thread and awaited. Tuple rows; prefetches are the equivalent ``IN`` queries.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import MySQLdb
from worker import spec
from worker.suite import Suite, Target, unique_email

T = TypeVar("T")

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


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


class _Conn:
    """One connection and the one thread that talks to it."""

    def __init__(self, target: Target) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mysql")
        self.target = target
        self.db: Any = None

    def open(self) -> None:
        self.db = MySQLdb.connect(
            host=self.target.host,
            port=self.target.port,
            user=self.target.user,
            password=self.target.password,
            database=self.target.database,
            charset="utf8mb4",
            autocommit=True,
        )

    def fetchall(self, sql: str, params: Any = None) -> list[Any]:
        cur = self.db.cursor()
        cur.execute(sql, params)
        rows = list(cur.fetchall())
        cur.close()
        return rows

    def execute(self, sql: str, params: Any = None) -> int:
        cur = self.db.cursor()
        count = int(cur.execute(sql, params))
        cur.close()
        return count

    def insert(self, sql: str, params: Any) -> int:
        cur = self.db.cursor()
        cur.execute(sql, params)
        new_id = int(cur.lastrowid)
        cur.close()
        return new_id

    def insert_many(self, sql: str, rows: list[Any]) -> None:
        # One multi-row INSERT (mysqlclient rewrites executemany), inside a transaction.
        cur = self.db.cursor()
        self.db.begin()
        try:
            cur.executemany(sql, rows)
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        finally:
            cur.close()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


class Contender(Suite):
    packages = ("mysqlclient",)

    async def setup(self, target: Target) -> None:
        self.loop = asyncio.get_running_loop()
        self.idle: asyncio.Queue[_Conn] = asyncio.Queue()
        self.conns = [_Conn(target) for _ in range(target.pool_size)]
        for conn in self.conns:
            await self.loop.run_in_executor(conn.executor, conn.open)
            self.idle.put_nowait(conn)

    async def teardown(self) -> None:
        for conn in self.conns:
            await self.loop.run_in_executor(conn.executor, conn.close)
            conn.executor.shutdown()

    async def _on_conn(self, work: Callable[[_Conn], T]) -> T:
        conn = await self.idle.get()
        try:
            return await self.loop.run_in_executor(conn.executor, work, conn)
        finally:
            self.idle.put_nowait(conn)

    async def _all(self, sql: str, params: Any = None) -> list[Any]:
        return await self._on_conn(lambda c: c.fetchall(sql, params))

    async def _one(self, sql: str, params: Any = None) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _run(self, sql: str, params: Any = None) -> int:
        return await self._on_conn(lambda c: c.execute(sql, params))

    async def insert_single(self) -> int:
        params = ("TestUser", unique_email(), 25, True)
        return await self._on_conn(
            lambda c: c.insert(
                "INSERT INTO users (name, email, age, is_active) VALUES (%s, %s, %s, %s)", params
            )
        )

    async def insert_bulk(self, count: int) -> None:
        rows = [(f"BulkUser{i}", unique_email(), 20 + i % 50, True) for i in range(count)]
        await self._on_conn(
            lambda c: c.insert_many(
                "INSERT INTO users (name, email, age, is_active) VALUES (%s, %s, %s, %s)", rows
            )
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
        return await self._all(
            f"SELECT {USER_COLS} FROM users WHERE id IN ({_marks(len(ids))})", ids
        )

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

    def _users_with_posts(self, conn: _Conn) -> tuple[list[Any], dict[int, list[Any]]]:
        users = conn.fetchall(f"SELECT {USER_COLS} FROM users")
        ids = [u[0] for u in users]
        grouped: dict[int, list[Any]] = defaultdict(list)
        for post in conn.fetchall(
            f"SELECT {POST_COLS} FROM posts WHERE user_id IN ({_marks(len(ids))})", ids
        ):
            grouped[post[1]].append(post)
        return users, grouped

    async def prefetch_related(self) -> list[Any]:
        users, posts = await self._on_conn(self._users_with_posts)
        return [(user, posts.get(user[0], [])) for user in users]

    async def nested_prefetch(self) -> list[Any]:
        def work(conn: _Conn) -> tuple[list[Any], dict[int, list[Any]], dict[int, list[Any]]]:
            users, posts = self._users_with_posts(conn)
            post_ids = [p[0] for group in posts.values() for p in group]
            tags: dict[int, list[Any]] = defaultdict(list)
            for link in conn.fetchall(
                f"SELECT id, post_id, tag_id FROM post_tags WHERE post_id IN "
                f"({_marks(len(post_ids))})",
                post_ids,
            ):
                tags[link[1]].append(link)
            return users, posts, tags

        users, posts, tags = await self._on_conn(work)
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
        def work(conn: _Conn) -> tuple[list[Any], dict[int, list[Any]]]:
            users = conn.fetchall(f"SELECT {USER_COLS} FROM users")
            ids = [u[0] for u in users]
            grouped: dict[int, list[Any]] = defaultdict(list)
            for item in conn.fetchall(
                f"SELECT {ITEM_COLS} FROM items WHERE user_id IN ({_marks(len(ids))})", ids
            ):
                grouped[item[1]].append(item)
            return users, grouped

        users, items = await self._on_conn(work)
        return [(user, items.get(user[0], [])) for user in users]
