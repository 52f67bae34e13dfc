"""How long a migration blocks writes to a large table, plain and in online mode.

A table of ``--rows`` rows (a million by default) gets one migration per operation
(index, foreign key, check, NOT NULL, unique constraint); while ``oxyde.migrations.
migrate`` runs it, a second connection inserts rows into the table one after another
and times each insert. The longest insert is how long the migration blocked writes.
PostgreSQL runs each operation plain and with ``online=True``; MySQL/MariaDB plain.

    python bench/migration_locks.py --backend postgres --url postgresql://...
    python bench/migration_locks.py --backend mysql --url mysql://...

Not part of the test suite: it takes minutes and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

TABLES = """\
    ctx.create_table("mg_lock_author", fields=[
        {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
        {"name": "name", "kind": "str", "max_length": 50},
    ])
    ctx.create_table("mg_lock_post", fields=[
        {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
        {"name": "title", "kind": "str", "max_length": 50, "nullable": True},
        {"name": "code", "kind": "str", "max_length": 40},
        {"name": "score", "kind": "int"},
        {"name": "author_id", "kind": "int", "nullable": True},
    ])
"""

#: name -> (upgrade, downgrade)
CASES = {
    "create index": (
        'ctx.create_index("mg_lock_post", {"name": "mg_lock_post_title_idx", '
        '"columns": ["title"]})',
        'ctx.drop_index("mg_lock_post", "mg_lock_post_title_idx")',
    ),
    "add foreign key": (
        'ctx.add_foreign_key("mg_lock_post", "fk_mg_lock_post_author", "author_id", '
        '"mg_lock_author", "id")',
        'ctx.drop_foreign_key("mg_lock_post", "fk_mg_lock_post_author")',
    ),
    "add check": (
        'ctx.add_check("mg_lock_post", "mg_lock_post_score_ck", "score >= 0")',
        'ctx.drop_check("mg_lock_post", "mg_lock_post_score_ck")',
    ),
    "set NOT NULL": (
        'ctx.alter_column("mg_lock_post", "title", nullable=False)',
        'ctx.alter_column("mg_lock_post", "title", nullable=True)',
    ),
    "add unique": (
        'ctx.add_unique("mg_lock_post", "mg_lock_post_code_uniq", ["code"])',
        'ctx.drop_unique("mg_lock_post", "mg_lock_post_code_uniq")',
    ),
}


def write(folder: Path, name: str, upgrade: str, downgrade: str, depends: str | None) -> None:
    (folder / f"{name}.py").write_text(
        f"depends_on = {depends!r}\n\n\ndef upgrade(ctx):\n{upgrade}\n\n"
        f"def downgrade(ctx):\n{downgrade}\n"
    )


def only_case(folder: Path, migration: str, up: str, down: str) -> None:
    """Leave the first migration and this case's in ``folder``."""
    for path in folder.glob("*.py"):
        if not path.name.startswith("0001_"):
            path.unlink()
    write(folder, migration, f"    {up}", f"    {down}", "0001_tables")


def connect(backend: str, url: str) -> Any:
    """A plain driver connection in autocommit mode, for the writer."""
    if backend == "postgres":
        import psycopg

        return psycopg.connect(url, autocommit=True)
    import MySQLdb

    parts = urlparse(url)
    conn = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        passwd=parts.password or "",
        db=parts.path.lstrip("/"),
    )
    conn.autocommit(True)
    return conn


class Writer(threading.Thread):
    """Inserts rows one by one until stopped; keeps each insert's time."""

    def __init__(self, backend: str, url: str) -> None:
        super().__init__(daemon=True)
        self.conn = connect(backend, url)
        self.times: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        cursor = self.conn.cursor()
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.perf_counter()
            cursor.execute(
                "INSERT INTO mg_lock_post (title, code, score, author_id) VALUES ('w', %s, 1, 1)",
                (f"w{n}-{time.time_ns()}",),
            )
            self.times.append(time.perf_counter() - started)
            time.sleep(0.005)
        self.conn.close()


async def fill(database: Any, backend: str, rows: int) -> None:
    from oxyde.queries import execute_raw

    await execute_raw("INSERT INTO mg_lock_author (name) VALUES ('ann')", client=database)
    source = (
        f"generate_series(1, {rows}) AS s(g)"
        if backend == "postgres"
        else f"(SELECT seq AS g FROM seq_1_to_{rows}) AS s"
    )
    concat = "'t' || g" if backend == "postgres" else "CONCAT('t', g)"
    code = "'c' || g" if backend == "postgres" else "CONCAT('c', g)"
    await execute_raw(
        f"INSERT INTO mg_lock_post (title, code, score, author_id) "
        f"SELECT {concat}, {code}, g, 1 FROM {source}",
        client=database,
    )
    if backend == "postgres":
        await execute_raw("VACUUM ANALYZE mg_lock_post", client=database)


async def measure(args: argparse.Namespace) -> list[tuple[str, str, float, float, int]]:
    from oxyde.db import AsyncDatabase
    from oxyde.migrations import migrate
    from oxyde.queries import execute_raw

    database = AsyncDatabase(args.url, name="bench", overwrite=True)
    await database.connect()
    results = []
    try:
        for table in ("mg_lock_post", "mg_lock_author", "oxyde_migrations"):
            await execute_raw(f"DROP TABLE IF EXISTS {table}", client=database)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write(folder, "0001_tables", TABLES, '    ctx.drop_table("mg_lock_post")', None)
            await migrate(folder, database=database)
            started = time.perf_counter()
            await fill(database, args.backend, args.rows)
            print(f"filled {args.rows} rows in {time.perf_counter() - started:.1f}s", flush=True)
            modes = ["plain", "online"] if args.backend == "postgres" else ["plain"]
            for number, (name, (up, down)) in enumerate(CASES.items(), start=2):
                migration = f"{number:04d}_case"
                only_case(folder, migration, up, down)
                for mode in modes:
                    writer = Writer(args.backend, args.url)
                    writer.start()
                    await asyncio.sleep(0.5)
                    started = time.perf_counter()
                    await migrate(folder, database=database, online=mode == "online")
                    seconds = time.perf_counter() - started
                    await asyncio.sleep(0.3)
                    writer.stop.set()
                    writer.join()
                    longest = max(writer.times)
                    results.append((name, mode, seconds, longest, len(writer.times)))
                    print(
                        f"{name:16} {mode:6}  migration {seconds:6.2f} s  longest write "
                        f"{longest * 1000:8.0f} ms  ({len(writer.times)} writes)",
                        flush=True,
                    )
                    await migrate(folder, "0001", database=database)
    finally:
        for table in ("mg_lock_post", "mg_lock_author", "oxyde_migrations"):
            await execute_raw(f"DROP TABLE IF EXISTS {table}", client=database)
        await database.disconnect()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgres", "mysql"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    results = asyncio.run(measure(parser.parse_args()))
    print("\n| operation | mode | migration | longest blocked write | writes |")
    print("|---|---|---|---|---|")
    for name, mode, seconds, longest, writes in results:
        print(f"| {name} | {mode} | {seconds:.2f} s | {longest * 1000:.0f} ms | {writes} |")


if __name__ == "__main__":
    main()
