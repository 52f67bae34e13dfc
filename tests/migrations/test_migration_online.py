"""Online mode through the ``oxyde`` command: on PostgreSQL, with a second connection
holding a long read transaction on the table, writes keep flowing while the migration
waits or runs; elsewhere it says it does not apply. The longest blocked write is
measured; the wall-clock assertions run only with OXYDE_TIMING=1 (marker ``timing``)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from oxyde.queries import execute_raw
from tests.migrations.clikit import project, recorded, rows, run, write

TABLES = """\
ctx.create_table("mg_author", fields=[
    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
    {"name": "name", "kind": "str", "max_length": 50},
])
ctx.create_table("mg_post", fields=[
    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
    {"name": "title", "kind": "str", "max_length": 50, "nullable": True},
    {"name": "code", "kind": "str", "max_length": 40},
    {"name": "score", "kind": "int"},
    {"name": "author_id", "kind": "int", "nullable": True},
])
"""
DROP = 'ctx.drop_table("mg_post")\nctx.drop_table("mg_author")'

LOCKING = """\
ctx.alter_column("mg_post", "title", nullable=False)
ctx.create_index("mg_post", {"name": "mg_post_title_idx", "columns": ["title"]})
ctx.add_foreign_key("mg_post", "fk_mg_post_author", "author_id", "mg_author", "id")
ctx.add_check("mg_post", "mg_post_score_ck", "score >= 0")
ctx.add_unique("mg_post", "mg_post_code_uniq", ["code"])
"""
UNLOCKING = """\
ctx.drop_unique("mg_post", "mg_post_code_uniq")
ctx.drop_check("mg_post", "mg_post_score_ck")
ctx.drop_foreign_key("mg_post", "fk_mg_post_author")
ctx.drop_index("mg_post", "mg_post_title_idx")
ctx.alter_column("mg_post", "title", nullable=True)
"""

ROWS = 2000


async def fill(db: Any) -> None:
    await execute_raw("INSERT INTO mg_author (name) VALUES ('ann')", client=db)
    await execute_raw(
        "INSERT INTO mg_post (title, code, score, author_id) SELECT 't' || g, 'c' || g, g, 1 "
        f"FROM generate_series(1, {ROWS}) AS g",
        client=db,
    )


async def writes_during(url: str, reader_seconds: float, work: Any) -> tuple[Any, list[float], int]:
    """Run ``work()`` while one connection holds a read transaction on mg_post for
    ``reader_seconds`` and another inserts rows one by one; returns what ``work``
    returned, each write's time, and the writes that failed."""
    import psycopg

    reader = await psycopg.AsyncConnection.connect(url)
    writer = await psycopg.AsyncConnection.connect(url, autocommit=True)
    watcher = await psycopg.AsyncConnection.connect(url, autocommit=True)
    times: list[float] = []
    failed = 0
    stop = asyncio.Event()

    async def write_loop() -> None:
        nonlocal failed
        n = 0
        while not stop.is_set():
            n += 1
            started = time.perf_counter()
            try:
                await writer.execute(
                    "INSERT INTO mg_post (title, code, score, author_id) VALUES ('w', %s, 1, 1)",
                    (f"w{n}-{time.time_ns()}",),
                )
            except psycopg.Error:
                failed += 1
            times.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    try:
        await reader.execute("SELECT COUNT(*) FROM mg_post")  # holds its lock till the end
        writing = asyncio.create_task(write_loop())
        await asyncio.sleep(0.2)
        job = asyncio.create_task(work())
        # the reader holds on until the migration waits for a lock, then as long again
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not job.done():
            cursor = await watcher.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query NOT ILIKE 'INSERT%%' AND pid <> pg_backend_pid()"
            )
            found = await cursor.fetchone()
            if found is not None and found[0]:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(reader_seconds)
        await reader.rollback()
        result = await job
        await asyncio.sleep(0.2)
        stop.set()
        await writing
    finally:
        await reader.close()
        await writer.close()
        await watcher.close()
    return result, times, failed


async def constraints(db: Any) -> dict[str, bool]:
    found = await rows(
        db,
        "SELECT conname, convalidated FROM pg_constraint "
        "WHERE conrelid = 'mg_post'::regclass AND contype IN ('f', 'c', 'u')",
    )
    return {r["conname"]: r["convalidated"] for r in found}


@pytest.mark.parametrize("backend_name", ["postgres"])
async def test_online_writes_keep_flowing_behind_a_long_reader(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_tables", TABLES, DROP, None)
    write(folder, "0002_locking", LOCKING, UNLOCKING, "0001_tables")
    assert (await run(folder, "migrate", "0001")).returncode == 0
    await fill(db)

    sql = await run(folder, "sqlmigrate", "0002", "--online")
    assert sql.returncode == 0, sql.stderr
    for statement in (
        'ADD CONSTRAINT "mg_post_title_not_null" CHECK ("title" IS NOT NULL) NOT VALID',
        'VALIDATE CONSTRAINT "mg_post_title_not_null"',
        'CREATE INDEX CONCURRENTLY "mg_post_title_idx"',
        'NOT VALID;\nALTER TABLE "mg_post" VALIDATE CONSTRAINT "fk_mg_post_author"',
        'CREATE UNIQUE INDEX CONCURRENTLY "mg_post_code_uniq"',
        'ADD CONSTRAINT "mg_post_code_uniq" UNIQUE USING INDEX "mg_post_code_uniq"',
    ):
        assert statement in sql.stdout, sql.stdout

    result, times, failed = await writes_during(
        database_url,
        1.5,
        lambda: run(
            folder, "migrate", "--online", "--ddl-lock-timeout", "0.1", "--ddl-retries", "60"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert "online mode" in result.stdout
    # it waited for the reader by giving up its lock request and asking again
    assert "lock busy, retry" in result.stdout
    assert failed == 0
    assert len(times) > 20
    print(f"online: {len(times)} writes, longest {max(times) * 1000:.0f} ms")

    # the result is what a plain migration makes: every constraint validated, the
    # index valid, the column NOT NULL, the helper check gone
    assert await constraints(db) == {
        "fk_mg_post_author": True,
        "mg_post_score_ck": True,
        "mg_post_code_uniq": True,
    }
    valid = await rows(
        db,
        "SELECT bool_and(indisvalid) AS ok, COUNT(*) AS n FROM pg_index "
        "WHERE indrelid = 'mg_post'::regclass",
    )
    assert valid[0]["ok"] is True and valid[0]["n"] == 3  # key, title index, code
    nullable = await rows(
        db,
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'mg_post'::regclass "
        "AND attname = 'title'",
    )
    assert nullable[0]["attnotnull"] is True
    assert await recorded(db) == [("0001_tables", None), ("0002_locking", None)]

    # and back, online too
    back = await run(folder, "migrate", "0001", "--online")
    assert back.returncode == 0, back.stderr
    assert await constraints(db) == {}


@pytest.mark.parametrize("backend_name", ["postgres"])
async def test_an_online_migration_that_fails_is_continued(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    # online statements commit one by one: a failure leaves a partial record, and the
    # failed concurrent index build leaves an invalid index that the retry drops
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_tables", TABLES, DROP, None)
    write(folder, "0002_locking", LOCKING, UNLOCKING, "0001_tables")
    (folder / "migrations" / "0002_locking.py").write_text(
        "online = True\n" + (folder / "migrations" / "0002_locking.py").read_text()
    )
    assert (await run(folder, "migrate", "0001")).returncode == 0
    await fill(db)
    await execute_raw("UPDATE mg_post SET code = 'same' WHERE id <= 2", client=db)

    failed = await run(folder, "migrate", "--no-preflight")
    assert failed.returncode == 1
    assert "online mode" in failed.stdout
    shown = await run(folder, "showmigrations")
    assert "[!] 0002_locking  partial: upgrade 9/11" in shown.stdout, shown.stdout
    invalid = await rows(
        db,
        "SELECT COUNT(*) AS n FROM pg_index WHERE indrelid = 'mg_post'::regclass "
        "AND NOT indisvalid",
    )
    assert invalid[0]["n"] == 1

    await execute_raw("UPDATE mg_post SET code = 'c-' || id WHERE id <= 2", client=db)
    done = await run(folder, "migrate")
    assert done.returncode == 0, done.stderr
    assert "continuing from statement 10 of 11" in done.stdout
    assert await constraints(db) == {
        "fk_mg_post_author": True,
        "mg_post_score_ck": True,
        "mg_post_code_uniq": True,
    }


async def test_online_elsewhere_runs_as_usual(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_tables", TABLES.replace(', "nullable": True}', "}", 1), DROP, None)
    write(
        folder,
        "0002_index",
        LOCKING.splitlines()[1],
        'ctx.drop_index("mg_post", "mg_post_title_idx")',
        "0001_tables",
    )
    done = await run(folder, "migrate", "--online")
    assert done.returncode == 0, done.stderr
    if backend_name == "postgres":
        assert "online mode:" in done.stdout
    else:
        assert f"online mode is for PostgreSQL; {backend_name} runs it as usual" in done.stdout
    assert await recorded(db) == [("0001_tables", None), ("0002_index", None)]


@pytest.mark.timing
@pytest.mark.skipif(not os.environ.get("OXYDE_TIMING"), reason="timing: set OXYDE_TIMING=1")
@pytest.mark.parametrize("backend_name", ["postgres"])
async def test_online_bounds_the_longest_blocked_write(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_tables", TABLES, DROP, None)
    write(folder, "0002_locking", LOCKING, UNLOCKING, "0001_tables")
    assert (await run(folder, "migrate", "0001")).returncode == 0
    await fill(db)
    reader_seconds = 2.0
    plain, plain_times, _ = await writes_during(
        database_url, reader_seconds, lambda: run(folder, "migrate")
    )
    assert plain.returncode == 0, plain.stderr
    assert (await run(folder, "migrate", "0001")).returncode == 0
    online, online_times, _ = await writes_during(
        database_url,
        reader_seconds,
        lambda: run(
            folder, "migrate", "--online", "--ddl-lock-timeout", "0.1", "--ddl-retries", "60"
        ),
    )
    assert online.returncode == 0, online.stderr
    print(
        f"longest blocked write: plain {max(plain_times) * 1000:.0f} ms, "
        f"online {max(online_times) * 1000:.0f} ms (reader held {reader_seconds} s)"
    )
    # plain: SET NOT NULL queues behind the reader and every write queues behind it
    assert max(plain_times) > reader_seconds * 0.6
    assert max(online_times) < 0.6


MODEL = """\
from oxyde import Field, Model


class MgAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "mg_author"
"""


async def test_makemigrations_marks_a_migration_online_when_its_table_is_large(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url, MODEL)
    assert (await run(folder, "makemigrations", "--no-stubs")).returncode == 0
    assert (await run(folder, "migrate")).returncode == 0
    for n in range(3):
        await execute_raw(f"INSERT INTO mg_author (name) VALUES ('a{n}')", client=db)
    indexed = MODEL.replace("Field(max_length=50)", "Field(max_length=50, db_index=True)")
    (folder / "mg_safety_models.py").write_text(indexed)

    small = await run(folder, "makemigrations", "--no-stubs", "--online-above", "10", "--dry-run")
    assert small.returncode == 0, small.stderr
    assert "online = True" not in small.stdout
    large = await run(folder, "makemigrations", "--no-stubs", "--online-above", "3")
    assert large.returncode == 0, large.stderr
    assert "mg_author has 3 rows or more: writing online = True" in large.stdout
    (written,) = (folder / "migrations").glob("0002_*.py")
    assert "\nonline = True\n" in written.read_text()
    done = await run(folder, "migrate")
    assert done.returncode == 0, done.stderr
    if backend_name == "postgres":
        assert "online mode:" in done.stdout
        shown = await run(folder, "sqlmigrate", "0002")
        assert "CREATE INDEX CONCURRENTLY" in shown.stdout
    else:
        assert "online mode is for PostgreSQL" in done.stdout
