"""A connection handed back to the pool refuses use: whoever kept a reference to it
past its lease (``database.connection()``, a transaction) gets a clear error instead of
running statements on a connection another task may hold, on every backend (G5)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oxyde import PoolSettings, ProgrammingError, atomic
from oxyde.backends.lease import LeasedConnection

pytestmark = pytest.mark.timeout(60)

RELEASED = "returned to the pool"


def session_sql(backend_name: str) -> str:
    return {
        "postgres": "SELECT pg_backend_pid()",
        "mysql": "SELECT CONNECTION_ID()",
        "sqlite": "SELECT 1",
    }[backend_name]


async def test_a_released_connection_refuses_every_use(database: Any) -> None:
    async with database.connection() as conn:
        assert isinstance(conn, LeasedConnection) and not conn.released
        assert await conn.fetch("SELECT 1", ()) == [(1,)]
        assert not conn.in_transaction
    assert conn.released
    assert "released" in repr(conn)
    attempts = [
        lambda: conn.fetch("SELECT 1", ()),
        lambda: conn.fetch_described("SELECT 1", ()),
        lambda: conn.execute("SELECT 1", ()),
        lambda: conn.execute_many("SELECT 1", [()]),
        lambda: conn.begin(),
        lambda: conn.commit(),
        lambda: conn.rollback(),
        lambda: conn.savepoint("s"),
        lambda: conn.stream("SELECT 1", (), chunk_size=10),
        lambda: conn.in_transaction,
        lambda: conn.dialect,
    ]
    for attempt in attempts:
        with pytest.raises(ProgrammingError, match=RELEASED):
            attempt()
    with pytest.raises(ProgrammingError, match=RELEASED):
        async with conn.atomic_block():
            pass
    # Backend-specific members are behind the same wall.
    with pytest.raises(ProgrammingError, match=RELEASED):
        _ = conn.closed
    # The pool is untouched: the next lease works.
    async with database.connection() as again:
        assert await again.fetch("SELECT 1", ()) == [(1,)]


async def test_a_stale_reference_cannot_reach_the_next_borrower(
    make_database: Any, backend_name: str
) -> None:
    database = await make_database(PoolSettings(max_connections=1, acquire_timeout=10))
    kept: list[Any] = []

    async def first() -> None:
        async with database.connection() as conn:
            kept.append(conn)
            await conn.fetch(session_sql(backend_name), ())

    await asyncio.create_task(first(), name="first-borrower")
    # Another task now holds the only connection, inside a transaction.
    async with atomic():
        with pytest.raises(ProgrammingError, match="first-borrower"):
            await kept[0].fetch("SELECT 1", ())
        # Its transaction is untouched by the attempt.
        assert await database.fetch("SELECT 1", ()) == [(1,)]
    assert await database.fetch("SELECT 1", ()) == [(1,)]


async def test_a_finished_transaction_connection_refuses_use(database: Any) -> None:
    async with atomic() as block:
        conn = block.transaction.connection
        assert isinstance(conn, LeasedConnection)
        assert conn.in_transaction
        await conn.fetch("SELECT 1", ())
    with pytest.raises(ProgrammingError, match=RELEASED):
        await conn.fetch("SELECT 1", ())
    with pytest.raises(ProgrammingError, match=RELEASED):
        await conn.execute("SELECT 1", ())


async def test_a_released_connection_refuses_use_after_an_error(database: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        async with database.connection() as conn:
            await conn.fetch("SELECT 1", ())
            raise ZeroDivisionError
    with pytest.raises(ProgrammingError, match=RELEASED):
        await conn.fetch("SELECT 1", ())
