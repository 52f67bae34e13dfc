"""Raw apsw: the SQLite limit, called synchronously or through one worker thread.

Rows stay tuples; prefetches are the equivalent ``IN`` queries grouped into dicts.
Option ``threaded``: every call goes through a single-thread executor, as an async
library would have to do it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import apsw
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
    "FROM items i JOIN users u ON u.id = i.user_id WHERE i.id <= ?"
)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class ApswOps:
    """The tests as plain synchronous calls on one connection."""

    def __init__(self, path: str) -> None:
        self.conn = apsw.Connection(path)
        self.conn.setbusytimeout(5000)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA cache_size=-10000",
        ):
            self.conn.execute(pragma).fetchall()

    def close(self) -> None:
        self.conn.close()

    def insert_single(self) -> int:
        row = self.conn.execute(
            "INSERT INTO users (name, email, age, is_active) VALUES (?, ?, ?, ?) RETURNING id",
            ("TestUser", unique_email(), 25, 1),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def insert_bulk(self, count: int) -> None:
        rows = [(f"BulkUser{i}", unique_email(), 20 + i % 50, 1) for i in range(count)]
        with self.conn:
            self.conn.executemany(
                "INSERT INTO users (name, email, age, is_active) VALUES (?, ?, ?, ?)", rows
            )

    def select_pk(self, pk: int) -> Any:
        return self.conn.execute(f"SELECT {USER_COLS} FROM users WHERE id = ?", (pk,)).fetchone()

    def select_filter(self) -> list[Any]:
        return self.conn.execute(f"SELECT {USER_COLS} FROM users WHERE age >= ?", (18,)).fetchall()

    def update_single(self, pk: int) -> None:
        self.conn.execute("UPDATE users SET name = ? WHERE id = ?", ("Updated", pk))

    def update_bulk(self) -> int:
        self.conn.execute("UPDATE users SET is_active = ? WHERE age < ?", (0, 18))
        return self.conn.changes()

    def delete_single(self, pk: int) -> None:
        self.conn.execute("DELETE FROM users WHERE id = ?", (pk,))

    def filter_simple(self) -> list[Any]:
        return self.conn.execute(
            f"SELECT {USER_COLS} FROM users WHERE name = ?", ("User0",)
        ).fetchall()

    def filter_complex(self) -> list[Any]:
        return self.conn.execute(
            f"SELECT {USER_COLS} FROM users "
            "WHERE (age >= ? AND is_active = ?) OR name LIKE ? ESCAPE '\\'",
            (18, 1, "A%"),
        ).fetchall()

    def filter_in(self, ids: list[int]) -> list[Any]:
        return self.conn.execute(
            f"SELECT {USER_COLS} FROM users WHERE id IN ({_marks(len(ids))})", ids
        ).fetchall()

    def order_limit(self) -> list[Any]:
        return self.conn.execute(
            f"SELECT {USER_COLS} FROM users ORDER BY created_at DESC LIMIT ?", (10,)
        ).fetchall()

    def aggregate_count(self) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM users").fetchone()
        assert row is not None
        return int(row[0])

    def aggregate_mixed(self) -> Any:
        return self.conn.execute("SELECT COUNT(*), AVG(age), MAX(age) FROM users").fetchone()

    def join_simple(self) -> list[Any]:
        return self.conn.execute(JOIN_SQL).fetchall()

    def join_filter(self) -> list[Any]:
        return self.conn.execute(JOIN_SQL + " WHERE u.age >= ?", (18,)).fetchall()

    def _posts_by_user(self, user_ids: list[int]) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for post in self.conn.execute(
            f"SELECT {POST_COLS} FROM posts WHERE user_id IN ({_marks(len(user_ids))})",
            user_ids,
        ):
            grouped[post[1]].append(post)
        return grouped

    def prefetch_related(self) -> list[Any]:
        users = self.conn.execute(f"SELECT {USER_COLS} FROM users").fetchall()
        posts = self._posts_by_user([u[0] for u in users])
        return [(user, posts.get(user[0], [])) for user in users]

    def nested_prefetch(self) -> list[Any]:
        users = self.conn.execute(f"SELECT {USER_COLS} FROM users").fetchall()
        posts = self._posts_by_user([u[0] for u in users])
        post_ids = [p[0] for group in posts.values() for p in group]
        tags: dict[int, list[Any]] = defaultdict(list)
        for link in self.conn.execute(
            f"SELECT id, post_id, tag_id FROM post_tags WHERE post_id IN ({_marks(len(post_ids))})",
            post_ids,
        ):
            tags[link[1]].append(link)
        return [
            (user, [(post, tags.get(post[0], [])) for post in posts.get(user[0], [])])
            for user in users
        ]

    def large_all_100k(self) -> list[Any]:
        return self.conn.execute(f"SELECT {ITEM_COLS} FROM items").fetchall()

    def large_values_100k(self) -> list[Any]:
        return self.conn.execute("SELECT id, value, label FROM items").fetchall()

    def large_join_20k(self) -> list[Any]:
        return self.conn.execute(LARGE_JOIN_SQL, (spec.LARGE_JOIN_ROWS,)).fetchall()

    def large_prefetch_100k(self) -> list[Any]:
        users = self.conn.execute(f"SELECT {USER_COLS} FROM users").fetchall()
        ids = [u[0] for u in users]
        grouped: dict[int, list[Any]] = defaultdict(list)
        for item in self.conn.execute(
            f"SELECT {ITEM_COLS} FROM items WHERE user_id IN ({_marks(len(ids))})", ids
        ):
            grouped[item[1]].append(item)
        return [(user, grouped.get(user[0], [])) for user in users]

    def concurrent(self, pks: list[int]) -> list[Any]:
        # One connection, one thread: the lookups can only run one after another.
        return [self.select_pk(pk) for pk in pks]


TESTS = [
    "insert_single",
    "insert_bulk",
    "select_pk",
    "select_filter",
    "update_single",
    "update_bulk",
    "delete_single",
    "filter_simple",
    "filter_complex",
    "filter_in",
    "order_limit",
    "aggregate_count",
    "aggregate_mixed",
    "join_simple",
    "join_filter",
    "prefetch_related",
    "nested_prefetch",
    "large_all_100k",
    "large_values_100k",
    "large_join_20k",
    "large_prefetch_100k",
]


class SyncApsw(Suite):
    """Called directly on the event loop's thread: no hop at all."""

    packages = ("apsw",)

    async def setup(self, target: Target) -> None:
        self.ops = ApswOps(target.database)
        for name in (*TESTS, "concurrent"):
            setattr(self, name, getattr(self.ops, name))

    async def teardown(self) -> None:
        self.ops.close()


def _through_thread(name: str) -> Any:
    async def call(self: ThreadedApsw, *args: Any) -> Any:
        return await self.loop.run_in_executor(self.executor, getattr(self.ops, name), *args)

    call.__name__ = name
    return call


class ThreadedApsw(Suite):
    """Each call handed to one worker thread and awaited, the way an async library must."""

    packages = ("apsw",)

    async def setup(self, target: Target) -> None:
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apsw")
        # The connection is made on the worker thread that will use it.
        self.ops = await self.loop.run_in_executor(self.executor, ApswOps, target.database)

    async def teardown(self) -> None:
        await self.loop.run_in_executor(self.executor, self.ops.close)
        self.executor.shutdown()


for _name in TESTS:
    setattr(ThreadedApsw, _name, _through_thread(_name))


def Contender(options: dict[str, Any]) -> Suite:
    return ThreadedApsw(options) if options.get("threaded") else SyncApsw(options)
