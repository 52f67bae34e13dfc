"""What each PostgreSQL protocol feature buys, measured through oxyde's public API.

    .venv/bin/python bench/pg_protocol.py [--url postgresql://postgres@127.0.0.1:5432/test]

Each line compares the same work with a feature on and off, in interleaved rounds
(median of the rounds): server-side prepared statements (``PoolSettings.pg_prepare``),
statements of concurrent tasks sharing pipelined round trips (``?batching=off``), the
pipeline for ``bulk_update``, COPY for a large ``bulk_create``, and the one-array ``IN``
list that keeps one SQL text (hence one prepared statement) for every list length.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from oxyde import AsyncDatabase, Field, Model, PoolSettings
from oxyde.db.schema import create_tables, drop_tables
from oxyde.sql.compiler import compile_statement
from oxyde.sql.dialects import get_dialect


class PgpRow(Model):
    id: int | None = Field(default=None, db_pk=True)
    k: int = 0
    v: str = Field(default="", max_length=50)

    class Meta:
        is_table = True
        table_name = "pgp_row"


Work = Callable[[AsyncDatabase], Awaitable[object]]


async def timed(work: Work, db: AsyncDatabase) -> float:
    start = time.perf_counter()
    await work(db)
    return time.perf_counter() - start


async def compare(name: str, unit: int, a: tuple[AsyncDatabase, Work],
                  b: tuple[AsyncDatabase, Work], rounds: int) -> None:  # fmt: skip
    on: list[float] = []
    off: list[float] = []
    for _ in range(rounds):
        on.append(await timed(a[1], a[0]))
        off.append(await timed(b[1], b[0]))
    t_on, t_off = statistics.median(on), statistics.median(off)
    print(
        f"{name:<44} on {t_on / unit * 1e6:9.1f} us   off {t_off / unit * 1e6:9.1f} us"
        f"   x{t_off / t_on:5.2f}"
    )


async def main(url: str, rounds: int) -> None:
    plain = AsyncDatabase(url, name="pgp_on", settings=PoolSettings(max_connections=10))
    unprepared = AsyncDatabase(
        url, name="pgp_noprep", settings=PoolSettings(max_connections=10, pg_prepare=False)
    )
    sep = "&" if "?" in url else "?"
    unbatched = AsyncDatabase(
        f"{url}{sep}batching=off", name="pgp_nobatch", settings=PoolSettings(max_connections=10)
    )
    for db in (plain, unprepared, unbatched):
        await db.connect()
    try:
        await drop_tables(plain, models=[PgpRow])
        await create_tables(plain, models=[PgpRow])
        await PgpRow.objects.bulk_create(
            [PgpRow(k=i, v=f"v{i}") for i in range(1000)], client=plain
        )
        ids = await PgpRow.objects.order_by("id").values_list("id", flat=True).all(client=plain)

        async def point_gets(db: AsyncDatabase) -> None:
            for i in range(300):
                await PgpRow.objects.get(id=ids[i], client=db)

        async def gathered(db: AsyncDatabase) -> None:
            for start in range(0, 300, 10):
                await asyncio.gather(
                    *(PgpRow.objects.get(id=ids[i], client=db) for i in range(start, start + 10))
                )

        async def update_many(db: AsyncDatabase) -> None:
            rows = await PgpRow.objects.order_by("id").all(client=db)
            for row in rows:
                row.k += 1
            await PgpRow.objects.bulk_update(rows, ["k"], client=db)

        async def update_one_by_one(db: AsyncDatabase) -> None:
            rows = await PgpRow.objects.order_by("id").all(client=db)
            for row in rows:
                await PgpRow.objects.filter(id=row.id).update(k=row.k + 1, client=db)

        async def insert_copy(db: AsyncDatabase) -> None:
            await PgpRow.objects.filter(k__gte=100_000).delete(client=db)
            await PgpRow.objects.bulk_create(
                [PgpRow(k=100_000 + i) for i in range(10_000)], batch_size=10_000, client=db
            )

        async def insert_batches(db: AsyncDatabase) -> None:
            await PgpRow.objects.filter(k__gte=100_000).delete(client=db)
            # calls under the COPY threshold go as multi-row INSERTs
            for start in range(0, 10_000, 500):
                await PgpRow.objects.bulk_create(
                    [PgpRow(k=100_000 + i) for i in range(start, start + 500)], client=db
                )

        await compare("prepared statements (300 point gets)", 300,
                      (plain, point_gets), (unprepared, point_gets), rounds)  # fmt: skip
        await compare("shared pipelined round trips (gather of 10)", 300,
                      (plain, gathered), (unbatched, gathered), rounds)  # fmt: skip
        await compare("pipeline: bulk_update of 1,000 rows", 1000,
                      (plain, update_many), (plain, update_one_by_one), rounds)  # fmt: skip
        await compare("COPY vs 500-row INSERTs: 10,000 rows", 10_000,
                      (plain, insert_copy), (plain, insert_batches), rounds)  # fmt: skip
        pg, sqlite = get_dialect("postgres"), get_dialect("sqlite")
        texts = {
            name: len(
                {
                    compile_statement(PgpRow.objects.filter(id__in=ids[:n]).to_ir()["ir"], d).sql
                    for n in range(1, 51)
                }
            )
            for name, d in (("PostgreSQL", pg), ("SQLite (expanded)", sqlite))
        }
        print(f"{'IN lists of 1..50 ids: distinct SQL texts':<44} {texts}")
        await drop_tables(plain, models=[PgpRow])
    finally:
        for db in (plain, unprepared, unbatched):
            await db.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.rounds))
