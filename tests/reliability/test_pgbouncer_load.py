"""PgBouncer in transaction-pooling mode under load: with ``pg_prepare=False`` no
statement depends on a server-side prepared statement, whichever server connection
PgBouncer hands each transaction to.

50 concurrent workers share a pool of 10 connections to a PgBouncer that has 4 server
connections; they run 200 distinct statement shapes, each at least five times (the run
count at which a shape would be prepared), plain and inside ``atomic()``. Any error at
all fails the test; a prepared statement that went missing ("prepared statement ... does
not exist", SQLSTATE 26000) or was created twice (42P05) is the one it guards against.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from oxyde import PoolSettings, atomic
from tests.integration.pgbouncer import pgbouncer_for_tests

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

WORKERS = 50
SHAPES = 200
RUNS_PER_SHAPE = 5
KEYS = 100


def shapes(table: str) -> list[str]:
    """``SHAPES`` statements whose SQL texts all differ, each taking one key ($1)."""
    kinds = [
        f'SELECT k, v FROM "{table}" WHERE k = $1 AND v >= {{i}} - {{i}}',
        f'UPDATE "{table}" SET v = v + {{i}} - {{i}} + 1 WHERE k = $1',
        f'SELECT count(*) + {{i}} FROM "{table}" WHERE k < $1',
        f'INSERT INTO "{table}" (k, v) VALUES ($1 + {KEYS} * (1 + {{i}}), {{i}}) '
        "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
    ]
    return [kinds[i % len(kinds)].format(i=i) for i in range(SHAPES)]


@pytest.mark.parametrize("backend_name", ["postgres"])
@pytest.mark.parametrize("batching", ["on", "off"])
async def test_fifty_workers_through_pgbouncer_never_hit_a_prepared_statement_error(
    make_database: Any, database_url: str, batching: str
) -> None:
    bouncer = pgbouncer_for_tests(database_url)
    # batching off: every statement goes through psycopg's cursors (and its cache)
    url = f"{next(bouncer)}?batching={batching}"
    try:
        database = await make_database(
            PoolSettings(
                max_connections=10, min_connections=2, acquire_timeout=60, pg_prepare=False
            ),
            url=url,
        )
        table = f"oxyde_pgb_{uuid.uuid4().hex[:8]}"
        await database.execute(f'CREATE TABLE "{table}" (k INTEGER PRIMARY KEY, v BIGINT)', ())
        try:
            await database.execute_many(
                f'INSERT INTO "{table}" (k, v) VALUES ($1, 0)', [[k] for k in range(KEYS)]
            )
            statements = shapes(table)
            errors: list[BaseException] = []
            ran = [0] * SHAPES
            total = SHAPES * RUNS_PER_SHAPE
            per_worker = total // WORKERS

            async def run(shape: int, key: int, client: Any = None) -> None:
                target = client if client is not None else database
                await target.fetch(statements[shape], (key,), write=True)
                ran[shape] += 1

            async def worker(w: int) -> None:
                for j in range(per_worker):
                    n = w * per_worker + j
                    shape, key = n % SHAPES, n % KEYS
                    try:
                        if j % 4 == 3:
                            # A transaction: PgBouncer pins one server connection for it.
                            async with atomic() as tx:
                                await run(shape, key, tx)
                                await run((shape + 1) % SHAPES, key, tx)
                        else:
                            await run(shape, key)
                    except Exception as exc:
                        errors.append(exc)

            await asyncio.gather(*(worker(w) for w in range(WORKERS)))
            assert errors == [], f"{len(errors)} errors, first: {errors[0]!r}"
            assert min(ran) >= RUNS_PER_SHAPE
            assert sum(ran) >= total
        finally:
            await database.execute(f'DROP TABLE IF EXISTS "{table}"', ())
    finally:
        bouncer.close()
