"""A connection that dies under its user: ``ConnectionLostError``, ``connections_lost``
in the pool's stats, and a pool that goes on working, on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oxyde import AsyncDatabase, ConnectionLostError, OperationalError, PoolSettings

pytestmark = pytest.mark.timeout(60)

SESSION_ID = {"postgres": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
SLEEP = {"postgres": "SELECT pg_sleep(5)", "mysql": "SELECT SLEEP(5)"}
KILL = {
    "postgres": "SELECT pg_terminate_backend({})",
    "mysql": "KILL CONNECTION {}",
}
ALIVE = {
    "postgres": "SELECT count(*) FROM pg_stat_activity WHERE pid = {}",
    "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = {}",
}


async def admin_for(database: AsyncDatabase) -> AsyncDatabase:
    """A second pool on the same server, to kill sessions from outside."""
    admin = AsyncDatabase(
        database.url,
        name=f"{database.name}-admin",
        settings=PoolSettings(max_connections=1),
        auto_register=False,
    )
    return await admin.connect()


async def kill(admin: AsyncDatabase, backend: str, session: int) -> None:
    if backend == "mysql":
        await admin.execute(KILL[backend].format(int(session)), ())
    else:
        await admin.fetch(KILL[backend].format(int(session)), ())
    # pg_terminate_backend only signals; KILL returns before the thread is gone.
    for _ in range(200):
        if (await admin.fetch(ALIVE[backend].format(int(session)), ()))[0][0] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"session {session} is still alive")


@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_a_session_killed_during_a_query_raises_connection_lost(
    make_database: Any, backend_name: str
) -> None:
    database = await make_database(PoolSettings(max_connections=2, acquire_timeout=10))
    admin = await admin_for(database)
    try:
        assert database.stats()["connections_lost"] == 0
        async with database.connection() as conn:
            (session,) = (await conn.fetch(SESSION_ID[backend_name], ()))[0]
            call = asyncio.ensure_future(conn.fetch(SLEEP[backend_name], ()))
            await asyncio.sleep(0.3)
            await kill(admin, backend_name, session)
            with pytest.raises(ConnectionLostError) as info:
                await asyncio.wait_for(call, 10)
        assert isinstance(info.value, OperationalError)
        assert info.value.code is not None
        assert database.stats()["connections_lost"] >= 1
        # The pool replaced it: the next calls run on another session.
        async with database.connection() as conn:
            assert (await conn.fetch(SESSION_ID[backend_name], ()))[0][0] != session
        assert await database.fetch("SELECT 1", ()) == [(1,)]
    finally:
        await admin.disconnect()


@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_a_session_killed_while_idle_is_replaced_and_counted(
    make_database: Any, backend_name: str
) -> None:
    database = await make_database(
        PoolSettings(max_connections=1, min_connections=1, acquire_timeout=10)
    )
    admin = await admin_for(database)
    try:
        async with database.connection() as conn:
            (session,) = (await conn.fetch(SESSION_ID[backend_name], ()))[0]
        await kill(admin, backend_name, session)
        # The dead connection is noticed before it is lent: the call never sees it.
        async with database.connection() as conn:
            (fresh,) = (await conn.fetch(SESSION_ID[backend_name], ()))[0]
        assert fresh != session
        assert database.stats()["connections_lost"] == 1
    finally:
        await admin.disconnect()


@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_a_transaction_whose_session_is_killed_raises_connection_lost(
    make_database: Any, backend_name: str
) -> None:
    from oxyde import atomic

    database = await make_database(PoolSettings(max_connections=2, acquire_timeout=10))
    admin = await admin_for(database)
    try:
        with pytest.raises(ConnectionLostError):
            async with atomic() as tx:
                (session,) = (await tx.fetch(SESSION_ID[backend_name], ()))[0]
                await kill(admin, backend_name, session)
                await tx.fetch("SELECT 1", ())
        assert await database.fetch("SELECT 1", ()) == [(1,)]
    finally:
        await admin.disconnect()


@pytest.mark.parametrize("backend_name", ["sqlite"])
async def test_a_sqlite_connection_closed_underneath_raises_connection_lost(
    make_database: Any,
) -> None:
    database = await make_database(PoolSettings(max_connections=1))
    assert database.stats()["connections_lost"] == 0
    async with database.connection() as conn:
        await conn.close()
        with pytest.raises(ConnectionLostError, match="closed"):
            await conn.fetch("SELECT 1", ())
    assert database.stats()["connections_lost"] == 1
    # Its slot was given back: a new connection serves the next call.
    assert await database.fetch("SELECT 1", ()) == [(1,)]
    assert database.stats()["in_use"] == 0
