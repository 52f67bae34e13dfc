"""What following the advisor buys, measured: each pattern it reports against the code it
suggests, side by side in one run, plus the advisor's own cost.

    .venv/bin/python bench/advice_effects.py [--db sqlite,postgres,mysql] [--rounds 5]

Prints a markdown table (median of the rounds, milliseconds per operation). The servers
default to the local test databases (``OXYDE_TEST_POSTGRES_URL``, ``OXYDE_TEST_MYSQL_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import oxyde.advice
from oxyde import F, Field, Index, Model, db, execute_raw
from oxyde.db import create_tables, drop_tables

URLS = {
    "postgres": os.environ.get("OXYDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"),
    "mysql": os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1/test"),
}


class FxAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    books: list[FxBook] = Field(db_reverse_fk="author")

    class Meta:
        is_table = True
        table_name = "fx_author"


class FxBook(Model):
    id: int | None = Field(default=None, db_pk=True)
    title: str = Field(max_length=100)
    pages: int = 0
    stock: int = 0
    author: FxAuthor | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "fx_book"
        indexes: ClassVar[list[Index]] = [Index(("author_id",))]


async def timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> float:
    """Median milliseconds of ``fn()`` over ``rounds`` runs (after one warm-up)."""
    await fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def seed(authors: int, books_each: int) -> list[FxAuthor]:
    made = await FxAuthor.objects.bulk_create([FxAuthor(name=f"a{i}") for i in range(authors)])
    await FxBook.objects.bulk_create(
        [
            FxBook(title=f"b{i}-{j}", pages=(i * 31 + j * 7) % 5000, author_id=a.id)
            for i, a in enumerate(made)
            for j in range(books_each)
        ]
    )
    return made


async def measure(kind: str, url: str, rounds: int) -> list[tuple[str, str, float, str, float]]:
    await db.init(default=url)
    database = await db.get_connection("default")
    rows: list[tuple[str, str, float, str, float]] = []
    try:
        await drop_tables(database, models=[FxAuthor, FxBook])
        await create_tables(database, models=[FxAuthor, FxBook])
        authors = await seed(100, 10)

        async def n_plus_one() -> None:
            for a in await FxAuthor.objects.all():
                await FxBook.objects.filter(author_id=a.id).all()

        async def prefetch() -> None:
            await FxAuthor.objects.prefetch("books").all()

        slow, fast = await timed(n_plus_one, rounds), await timed(prefetch, rounds)
        rows.append(
            ("N+1: 100 authors' books", "filter() per author", slow, 'prefetch("books")', fast)
        )

        async def create_loop() -> None:
            for i in range(1000):
                await FxBook.objects.create(title=f"c{i}", author_id=authors[0].id)

        async def bulk() -> None:
            await FxBook.objects.bulk_create(
                [FxBook(title=f"c{i}", author_id=authors[0].id) for i in range(1000)]
            )

        rows.append(
            ("1,000 new rows", "create() in a loop", await timed(create_loop, rounds),
             "bulk_create()", await timed(bulk, rounds))
        )  # fmt: skip

        target = authors[1].id
        book = await FxBook.objects.filter(author_id=target).first()
        assert book is not None

        async def rmw() -> None:
            for _ in range(100):
                b = await FxBook.objects.get(id=book.id)
                b.stock += 1
                await b.save()

        async def f_update() -> None:
            for _ in range(100):
                await FxBook.objects.filter(id=book.id).update(stock=F("stock") + 1)

        rows.append(
            ("100 increments of one row", "get() + save()", await timed(rmw, rounds),
             'update(stock=F("stock") + 1)', await timed(f_update, rounds))
        )  # fmt: skip

        await FxBook.objects.bulk_create(
            [FxBook(title=f"d{i}", pages=i % 5000, author_id=target) for i in range(50_000)]
        )

        async def by_pages() -> None:
            for p in range(20):
                await FxBook.objects.filter(pages=p * 13).all()

        before = await timed(by_pages, rounds)
        q = database.dialect.quote
        await execute_raw(f"CREATE INDEX {q}fx_book_pages_idx{q} ON {q}fx_book{q} ({q}pages{q})")
        after = await timed(by_pages, rounds)
        rows.append(
            ("20 filters on pages, 61,000 rows", "no index", before, 'Index(("pages",))', after)
        )

        async def point_reads() -> None:
            for _ in range(500):
                await FxBook.objects.get(id=book.id)

        # Off and on alternate round by round, so drift of a busy machine hits both.
        offs, ons = [], []
        for _ in range(rounds):
            oxyde.advice.reset()
            offs.append(await timed(point_reads, 1))
            oxyde.advice.enable()
            ons.append(await timed(point_reads, 1))
        oxyde.advice.reset()
        off, on = statistics.median(offs), statistics.median(ons)
        rows.append(("500 point reads (get by pk)", "advisor off", off, "advisor on", on))
        await drop_tables(database, models=[FxAuthor, FxBook])
    finally:
        await db.close()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite,postgres,mysql")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| database | case | pattern | ms | suggested | ms | speed-up |")
    print("|---|---|---|--:|---|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.db.split(","):
            url = f"sqlite:///{Path(tmp) / 'effects.db'}" if kind == "sqlite" else URLS[kind]
            for case, slow_name, slow, fast_name, fast in await measure(kind, url, args.rounds):
                print(
                    f"| {kind} | {case} | {slow_name} | {slow:,.1f} | {fast_name} | {fast:,.1f} "
                    f"| {slow / fast:,.2f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
