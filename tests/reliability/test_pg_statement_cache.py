"""PostgreSQL: oxyde's prepared statements stay what the session really has, through
rollbacks, failed and cancelled statements, abandoned streams and ``DISCARD ALL``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from oxyde import (
    AsyncDatabase,
    Field,
    Model,
    PoolSettings,
    atomic,
    create_tables,
    drop_tables,
    execute_raw,
)
from oxyde.exceptions import OperationalError
from oxyde.models import unregister_table
from tests.integration.pgbouncer import postgres_url
from tests.support.backends import is_required

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

URL = os.environ.get("OXYDE_TEST_POSTGRES_DIRECT_URL") or postgres_url()
NAME = f"pgsc_{uuid.uuid4().hex[:8]}"


class Boom(Exception):
    pass


class PgscItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    n: int = 0

    class Meta:
        is_table = True
        table_name = f"{NAME}_item"


@pytest.fixture(params=["on", "off"], ids=["batching", "no-batching"])
async def db(request: pytest.FixtureRequest) -> AsyncIterator[AsyncDatabase]:
    sep = "&" if "?" in URL else "?"
    url = URL if request.param == "on" else f"{URL}{sep}batching=off"
    database = AsyncDatabase(
        url,
        name="default",
        settings=PoolSettings(max_connections=1, acquire_timeout=5),
        overwrite=True,
    )
    try:
        await database.connect()
    except OperationalError as exc:
        if is_required("postgres"):
            raise
        pytest.skip(f"no PostgreSQL at {URL}: {exc}")
    try:
        await drop_tables(database, models=[PgscItem])
        await create_tables(database, models=[PgscItem])
        await PgscItem.objects.create(n=0)
        yield database
        await drop_tables(database, models=[PgscItem])
    finally:
        await database.disconnect()
        from oxyde.db.registry import unregister_connection

        with contextlib.suppress(KeyError):
            unregister_connection("default")


@pytest.fixture(autouse=True, scope="module")
def _unregister() -> Any:
    yield
    unregister_table(PgscItem)


async def value() -> int:
    item = await PgscItem.objects.get(id=1)
    return item.n


async def test_rolled_back_transaction_does_not_break_later_ones(db: AsyncDatabase) -> None:
    # The report: seven committed blocks (psycopg would prepare BEGIN), one rolled back
    # (psycopg would answer with DEALLOCATE ALL), then the same update again.
    for i in range(7):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=i)
    with pytest.raises(Boom):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=50)
            raise Boom
    for i in range(10):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=99 + i)
    assert await value() == 108


async def test_abandoned_iterator_then_transactions(db: AsyncDatabase) -> None:
    await PgscItem.objects.bulk_create([PgscItem(n=k) for k in range(20)])
    for i in range(8):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=i)
        async for _ in PgscItem.objects.order_by("id").iterator(chunk_size=3):
            break
    with pytest.raises(Boom):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=-1)
            async for _ in PgscItem.objects.order_by("id").iterator(chunk_size=3):
                break
            raise Boom
    for i in range(8):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=100 + i)
    assert await value() == 107


@pytest.mark.parametrize("command", ["DISCARD ALL", "DEALLOCATE ALL"])
async def test_statements_removed_by_the_session_are_prepared_again(
    db: AsyncDatabase, command: str
) -> None:
    for i in range(8):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=i)
    # Outside a transaction, and inside one: neither the command nor what follows fails.
    await execute_raw(command)
    if command == "DISCARD ALL":
        await execute_raw("SET TIME ZONE 'UTC'")
    for i in range(8):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=10 + i)
    async with atomic():
        await PgscItem.objects.filter(id=1).update(n=30)
        await execute_raw("DEALLOCATE ALL")
        for i in range(8):
            await PgscItem.objects.filter(id=1).update(n=31 + i)
    assert await value() == 38


async def test_statement_prepared_while_failing_is_not_trusted(db: AsyncDatabase) -> None:
    # A statement that fails on every run (its table is missing) is prepared on its
    # threshold run, and the PREPARE fails: the cache must not keep its name.
    sql = f'SELECT count(*) FROM "{NAME}_later" WHERE id > $1'
    # Five counted runs, then the run that prepares (psycopg's threshold of 5).
    for _ in range(6):
        with pytest.raises(OperationalError):
            await db.fetch(sql, [0])
    await execute_raw(f'CREATE TABLE "{NAME}_later" (id INT)')
    try:
        for _ in range(8):
            async with atomic():
                rows = await db.fetch(sql, [0])
        assert rows == [(0,)]
    finally:
        await execute_raw(f'DROP TABLE "{NAME}_later"')


async def test_cancelled_statements_leave_a_true_cache(db: AsyncDatabase) -> None:
    # Cancel point queries at every stage of their first prepared run, then run them in
    # transactions: never "prepared statement does not exist".
    for delay in (0, 0.0005, 0.001, 0.002, 0.005):
        for k in range(8):
            task = asyncio.ensure_future(PgscItem.objects.filter(id=1).update(n=k + 1000))
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OperationalError):
                await task
        for k in range(6):
            async with atomic():
                await PgscItem.objects.filter(id=1).update(n=k)
    assert await value() == 5


async def test_bulk_update_and_rollbacks_share_one_cache(db: AsyncDatabase) -> None:
    await PgscItem.objects.bulk_create([PgscItem(n=k) for k in range(50)])
    items = await PgscItem.objects.order_by("id").all()
    for round_ in range(4):
        for item in items:
            item.n = round_
        with pytest.raises(Boom):
            async with atomic():
                await PgscItem.objects.bulk_update(items, ["n"])
                raise Boom
        async with atomic():
            await PgscItem.objects.bulk_update(items, ["n"])
            await PgscItem.objects.filter(id=1).update(n=round_ + 10)
    assert await value() == 13
    assert await PgscItem.objects.filter(n=3).count() == len(items) - 1


async def test_server_side_view_matches_the_cache(db: AsyncDatabase) -> None:
    # After a mix of everything, every name the cache trusts is on the server.
    for i in range(7):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=i)
    with pytest.raises(Boom):
        async with atomic():
            await PgscItem.objects.filter(id=1).update(n=50)
            raise Boom
    async with db.connection() as conn:
        wire = getattr(conn, "_wire", None)
        if wire is None:
            pytest.skip("statements go through psycopg's own cache here")
        rows = await conn.fetch("SELECT name FROM pg_prepared_statements", [])
        on_server = {name.encode() for (name,) in rows}
        assert set(wire.names()) <= on_server
        assert not any(name.startswith(b"_pg3_") for name in on_server)


def test_psycopg_does_not_prepare_on_batched_connections() -> None:
    # One cache per connection: with oxyde's statement layer on, psycopg's is off.
    from oxyde.backends.postgres.pool import PostgresBackend
    from oxyde.backends.url import parse_url

    backend = PostgresBackend(parse_url(URL), PoolSettings())
    assert backend._kwargs["prepare_threshold"] is None
    assert backend._threshold == 5
    sep = "&" if "?" in URL else "?"
    plain = PostgresBackend(parse_url(f"{URL}{sep}batching=off"), PoolSettings())
    assert plain._kwargs["prepare_threshold"] == 5
