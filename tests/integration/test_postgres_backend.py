"""The PostgreSQL backend against the real server, below the query layer: raw SQL with
``$1`` placeholders through ``PostgresBackend`` and its connections."""

from __future__ import annotations

import asyncio
import enum
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from oxyde.backends.lease import LeasedConnection
from oxyde.backends.postgres import PostgresBackend
from oxyde.backends.settings import PoolSettings
from oxyde.backends.url import parse_url
from oxyde.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityError,
    ManagerError,
    NotNullViolationError,
    OperationalError,
    UniqueViolationError,
)
from tests.integration.pgbouncer import pgbouncer_for_tests, postgres_url
from tests.support.backends import is_required

pytestmark = pytest.mark.postgres

#: The server itself, even when the suite runs through PgBouncer.
DIRECT_URL = os.environ.get("OXYDE_TEST_POSTGRES_DIRECT_URL") or postgres_url()

OpenBackend = Callable[..., Awaitable[PostgresBackend]]


@pytest.fixture(scope="module")
def server_url() -> str:
    try:
        psycopg.connect(DIRECT_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {parse_url(DIRECT_URL)}: {exc}"
        if is_required("postgres"):
            pytest.fail(message)
        pytest.skip(message)
    return DIRECT_URL


@pytest.fixture(scope="module")
def pgbouncer_url(server_url: str) -> Iterator[str]:
    yield from pgbouncer_for_tests(server_url)


@pytest.fixture
def app_name() -> str:
    """A per-test application_name, so server-side checks see only this test's sessions."""
    return f"oxyde-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def open_backend(server_url: str, app_name: str) -> AsyncIterator[OpenBackend]:
    opened: list[PostgresBackend] = []

    async def open_(url: str | None = None, **settings: Any) -> PostgresBackend:
        settings.setdefault("max_connections", 3)
        settings.setdefault("acquire_timeout", 5)
        settings.setdefault("pg_application_name", app_name)
        backend = PostgresBackend(
            parse_url(url or server_url), PoolSettings(**settings), name="test"
        )
        await backend.open()
        opened.append(backend)
        return backend

    yield open_
    for backend in opened:
        await backend.close()


@pytest.fixture
async def monitor(server_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A plain psycopg connection that watches the server from the side."""
    conn = await psycopg.AsyncConnection.connect(server_url, autocommit=True)
    yield conn
    await conn.close()


@pytest.fixture
async def table(server_url: str) -> AsyncIterator[str]:
    """A fresh table ``(id BIGSERIAL, k INT UNIQUE, v TEXT)``; unique per test."""
    name = f"pgb_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(
            f'CREATE TABLE "{name}" (id BIGSERIAL PRIMARY KEY, k INT UNIQUE, v TEXT)'
        )
    yield name
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')


async def sessions(
    monitor: psycopg.AsyncConnection[Any], app_name: str
) -> list[tuple[int, str | None, str]]:
    cur = await monitor.execute(
        "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
        [app_name],
    )
    return await cur.fetchall()


async def count_rows(monitor: psycopg.AsyncConnection[Any], table: str) -> int:
    cur = await monitor.execute(f'SELECT count(*) FROM "{table}"')
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def ten_thousand_rows_with_a_duplicate() -> list[list[Any]]:
    rows: list[list[Any]] = [[i, f"row {i}"] for i in range(10_000)]
    rows[7_531][0] = 42  # collides with row 42
    return rows


# -- the driver ------------------------------------------------------------------------


def test_psycopg_runs_its_c_implementation() -> None:
    assert psycopg.pq.__impl__ == "c"


# -- statements ------------------------------------------------------------------------


async def test_fetch_execute_and_described_results(open_backend: OpenBackend, table: str) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        assert isinstance(conn, LeasedConnection)
        assert isinstance(conn.raw, psycopg.AsyncConnection)
        assert await conn.fetch("SELECT $1::int + $2::int, $3::text", [40, 2, "x"]) == [(42, "x")]
        inserted = await conn.fetch(
            f'INSERT INTO "{table}" (k, v) VALUES ($1, $2), ($3, $4) RETURNING id, k',
            [1, "a", 2, "b"],
            write=True,
        )
        assert [k for _, k in inserted] == [1, 2]
        assert await conn.execute(f'UPDATE "{table}" SET v = $1 WHERE k >= $2', ["z", 1]) == 2
        names, rows = await conn.fetch_described(
            f'SELECT k AS key, v FROM "{table}" WHERE k = ANY($1) ORDER BY k', [[2, 3]]
        )
        assert names == ["key", "v"]
        assert rows == [(2, "z")]
        # A statement without a result set fetches no rows; without parameters several
        # statements may share one string (DDL scripts).
        assert await conn.fetch(f'DELETE FROM "{table}" WHERE k = $1', [1]) == []
        await conn.execute(f"UPDATE \"{table}\" SET v = 'a'; UPDATE \"{table}\" SET v = 'b'", [])
        assert await conn.fetch(f'SELECT v FROM "{table}"', []) == [("b",)]


async def test_percent_signs_pass_through_raw_sql(open_backend: OpenBackend) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        rows = await conn.fetch("SELECT '100%' || $1::text, 'a%s' LIKE $2", ["!", "a%"])
    assert rows == [("100%!", True)]


async def test_in_list_binds_one_array_whatever_its_length(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any]
) -> None:
    backend = await open_backend(max_connections=1)
    sql = "SELECT x FROM generate_series(1, 20) AS x WHERE x = ANY($1) ORDER BY x"
    async with backend.connection() as conn:
        for values in ([1], [2, 3], list(range(5, 15)), [], [4], [7, 8], [9], [10]):
            assert await conn.fetch(sql, [values]) == [(v,) for v in sorted(values)]
        # Eight runs of one SQL text: psycopg prepared it once and reused it.
        prepared = await conn.fetch(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", [sql]
        )
    assert prepared == [(1,)]


# -- types -----------------------------------------------------------------------------


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "so sad"


async def test_every_kind_round_trips(open_backend: OpenBackend, server_url: str) -> None:
    backend = await open_backend()
    dialect = backend.dialect
    mood_type = f"mood_{uuid.uuid4().hex[:8]}"
    name = f"pgb_types_{uuid.uuid4().hex[:8]}"
    columns: dict[str, tuple[str, str, Any]] = {
        "i": ("BIGINT", "int", -(2**63)),
        "f": ("DOUBLE PRECISION", "float", 1.5e-300),
        "b": ("BOOLEAN", "bool", True),
        "s": ("VARCHAR(50)", "str", "naïve 🐍 '\"%s $1"),
        "by": ("BYTEA", "bytes", b"\x00\xff\x00"),
        "naive": ("TIMESTAMP", "datetime", datetime(2024, 2, 29, 23, 59, 59, 999999)),
        "aware": (
            "TIMESTAMPTZ",
            "datetime",
            datetime(2024, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=-7))),
        ),
        "d": ("DATE", "date", date(1999, 12, 31)),
        "t": ("TIME", "time", dtime(23, 0, 0, 1)),
        "td": ("INTERVAL", "timedelta", timedelta(days=-3, seconds=5, microseconds=7)),
        "u": ("UUID", "uuid", uuid.uuid4()),
        "dec": ("NUMERIC(20,6)", "decimal", Decimal("-12345678901234.000010")),
        "j": ("JSONB", "json", {"a": [1, 2.5, None, "ü"], "b": {"c": True}}),
        "jl": ("JSONB", "json", [1, "two"]),
        "arr": ("BIGINT[]", "array", [3, 2**40, -1]),
        "sarr": ("TEXT[]", "array", ["a", "b c", ""]),
        "e": (f'"{mood_type}"', "enum", Mood.SAD),
        "earr": (f'"{mood_type}"[]', "array", [Mood.HAPPY, Mood.SAD]),
    }
    ddl = ", ".join(f'"{col}" {sqltype}' for col, (sqltype, _, _) in columns.items())
    async with backend.connection() as conn:
        await conn.execute(f"CREATE TYPE \"{mood_type}\" AS ENUM ('happy', 'so sad')", [])
        try:
            await conn.execute(f'CREATE TABLE "{name}" (id BIGSERIAL PRIMARY KEY, {ddl})', [])
            cols = list(columns)
            params = []
            for _, kind, value in columns.values():
                adapt = dialect.adapters.get(kind)
                params.append(adapt(value) if adapt is not None else value)
            placeholders = ", ".join(f"${n}" for n in range(1, len(cols) + 1))
            quoted = ", ".join(f'"{c}"' for c in cols)
            [(new_id,)] = await conn.fetch(
                f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders}) RETURNING id', params
            )
            assert isinstance(new_id, int)
            [row] = await conn.fetch(f'SELECT {quoted} FROM "{name}" WHERE id = $1', [new_id])
            for col, (_, kind, value), got in zip(cols, columns.values(), row, strict=True):
                convert = dialect.converters.get(kind)
                if convert is not None:
                    got = convert(got)
                if isinstance(value, enum.Enum):
                    value = value.value
                elif kind == "array" and value and isinstance(value[0], enum.Enum):
                    value = [item.value for item in value]
                assert got == value, col
                assert type(got) is type(value), col
            # The documented datetime rule: naive in, naive out; aware in, aware UTC out.
            assert row[cols.index("naive")].tzinfo is None
            assert row[cols.index("aware")].tzinfo is UTC
            # An enum compares as its type, with a bare parameter.
            assert await conn.fetch(
                f'SELECT count(*) FROM "{name}" WHERE e = $1 AND e = ANY($2)',
                [dialect.adapters["enum"](Mood.SAD), [Mood.SAD.value]],
            ) == [(1,)]
        finally:
            await conn.execute(f'DROP TABLE IF EXISTS "{name}"', [])
            await conn.execute(f'DROP TYPE IF EXISTS "{mood_type}"', [])


async def test_big_serial_keys_count_from_the_sequence(
    open_backend: OpenBackend, table: str
) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), $1)", [2**40]
        )
        [(key,)] = await conn.fetch(f'INSERT INTO "{table}" (k) VALUES ($1) RETURNING id', [1])
    assert key == 2**40 + 1


# -- errors ----------------------------------------------------------------------------


async def test_constraint_errors_map_to_their_types(
    open_backend: OpenBackend, server_url: str
) -> None:
    backend = await open_backend()
    parent = f"pgb_parent_{uuid.uuid4().hex[:8]}"
    child = f"pgb_child_{uuid.uuid4().hex[:8]}"
    async with backend.connection() as conn:
        await conn.execute(
            f'CREATE TABLE "{parent}" (id INT PRIMARY KEY, email TEXT UNIQUE NOT NULL, '
            f"age INT CHECK (age >= 0))",
            [],
        )
        await conn.execute(
            f'CREATE TABLE "{child}" (id INT PRIMARY KEY, parent_id INT REFERENCES "{parent}")',
            [],
        )
        try:
            await conn.execute(f'INSERT INTO "{parent}" VALUES (1, $1, 1)', ["a@x.io"])
            cases: list[tuple[str, list[Any], type[IntegrityError], str]] = [
                (f'INSERT INTO "{parent}" VALUES (2, $1, 1)', ["a@x.io"],
                 UniqueViolationError, "23505"),
                (f'INSERT INTO "{child}" VALUES (1, $1)', [99],
                 ForeignKeyViolationError, "23503"),
                (f'INSERT INTO "{parent}" VALUES (3, $1, 1)', [None],
                 NotNullViolationError, "23502"),
                (f'INSERT INTO "{parent}" VALUES (4, $1, -1)', ["b@x.io"],
                 CheckViolationError, "23514"),
            ]  # fmt: skip
            for sql, params, error, state in cases:
                with pytest.raises(error) as info:
                    await conn.execute(sql, params)
                assert info.value.code == state
                assert info.value.sqlstate == state
                assert isinstance(info.value.__cause__, psycopg.Error)
            # The server's DETAIL (which key) is part of the message.
            with pytest.raises(UniqueViolationError, match=r"a@x\.io"):
                await conn.fetch(f'INSERT INTO "{parent}" VALUES (5, $1, 1)', ["a@x.io"])
            # The connection is still usable after each error.
            assert await conn.fetch("SELECT 1", []) == [(1,)]
        finally:
            await conn.execute(f'DROP TABLE "{child}"; DROP TABLE "{parent}"', [])


async def test_other_errors_are_operational_and_keep_their_sqlstate(
    open_backend: OpenBackend,
) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        with pytest.raises(OperationalError) as info:
            await conn.fetch("SELEC 1", [])
        assert info.value.code == "42601"
        with pytest.raises(OperationalError) as info:
            await conn.fetch("SELECT * FROM pgb_no_such_table", [])
        assert info.value.code == "42P01"
        with pytest.raises(OperationalError) as info:
            await conn.fetch("SELECT 1 / $1::int", [0])
        assert info.value.code == "22012"
        await conn.execute("SET statement_timeout = 50", [])
        with pytest.raises(OperationalError) as info:
            await conn.fetch("SELECT pg_sleep(2)", [])
        assert info.value.code == "57014"
        await conn.execute("RESET statement_timeout", [])
        assert await conn.fetch("SELECT 2", []) == [(2,)]


# -- transactions ----------------------------------------------------------------------


async def test_begin_commit_rollback(open_backend: OpenBackend, table: str) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        assert not conn.in_transaction
        await conn.begin()
        assert conn.in_transaction
        await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
        await conn.rollback()
        assert not conn.in_transaction
        await conn.begin()
        await conn.execute(f'INSERT INTO "{table}" (k) VALUES (2)', [])
        await conn.commit()
        assert await conn.fetch(f'SELECT k FROM "{table}"', []) == [(2,)]


async def test_isolation_level_and_read_only(open_backend: OpenBackend, table: str) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        for spelling, shown in (
            ("serializable", "serializable"),
            ("REPEATABLE_READ", "repeatable read"),
            ("read committed", "read committed"),
        ):
            await conn.begin(isolation=spelling)
            assert await conn.fetch("SHOW transaction_isolation", []) == [(shown,)]
            await conn.rollback()
        await conn.begin(read_only=True)
        with pytest.raises(OperationalError) as info:
            await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
        assert info.value.code == "25006"
        await conn.rollback()
        with pytest.raises(ValueError, match="serializable"):
            await conn.begin(isolation="snapshot; DROP TABLE x")
        assert not conn.in_transaction


async def test_savepoints_and_nested_atomic_blocks(open_backend: OpenBackend, table: str) -> None:
    backend = await open_backend()
    insert = f'INSERT INTO "{table}" (k) VALUES ($1)'
    async with backend.connection() as conn:
        async with conn.atomic_block() as tx:
            await tx.execute(insert, [1])
            with pytest.raises(UniqueViolationError):
                async with conn.atomic_block():
                    await conn.execute(insert, [2])
                    await conn.execute(insert, [1])
            async with conn.atomic_block():
                await conn.execute(insert, [3])
            await conn.savepoint("manual sp")
            await conn.execute(insert, [4])
            await conn.rollback_to_savepoint("manual sp")
            await conn.release_savepoint("manual sp")
        assert not conn.in_transaction
        rows = await conn.fetch(f'SELECT k FROM "{table}" ORDER BY k', [])
        assert rows == [(1,), (3,)]
        with pytest.raises(RuntimeError):
            async with conn.atomic_block():
                await conn.execute(insert, [5])
                raise RuntimeError("boom")
        assert await conn.fetch(f'SELECT count(*) FROM "{table}" WHERE k = 5', []) == [(0,)]


async def test_commit_of_an_aborted_transaction_raises(
    open_backend: OpenBackend, table: str
) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        await conn.begin()
        await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
        with pytest.raises(UniqueViolationError):
            await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
        # PostgreSQL would answer COMMIT with a silent ROLLBACK.
        with pytest.raises(OperationalError) as info:
            await conn.commit()
        assert info.value.code == "25P02"
        assert not conn.in_transaction
        assert await conn.fetch(f'SELECT count(*) FROM "{table}"', []) == [(0,)]


async def test_a_failed_commit_raises_the_deferred_error(
    open_backend: OpenBackend, server_url: str
) -> None:
    backend = await open_backend()
    parent = f"pgb_dparent_{uuid.uuid4().hex[:8]}"
    child = f"pgb_dchild_{uuid.uuid4().hex[:8]}"
    async with backend.connection() as conn:
        await conn.execute(
            f'CREATE TABLE "{parent}" (id INT PRIMARY KEY); '
            f'CREATE TABLE "{child}" (id INT PRIMARY KEY, parent_id INT REFERENCES "{parent}" '
            "DEFERRABLE INITIALLY DEFERRED)",
            [],
        )
        try:
            await conn.begin()
            await conn.execute(f'INSERT INTO "{child}" VALUES (1, 7)', [])
            with pytest.raises(ForeignKeyViolationError):
                await conn.commit()
            assert not conn.in_transaction
            assert await conn.fetch(f'SELECT count(*) FROM "{child}"', []) == [(0,)]
        finally:
            await conn.execute(f'DROP TABLE "{child}"; DROP TABLE "{parent}"', [])


# -- bulk: pipeline and COPY -----------------------------------------------------------


async def test_execute_many_counts_rows_and_joins_a_transaction(
    open_backend: OpenBackend, table: str, monitor: psycopg.AsyncConnection[Any]
) -> None:
    backend = await open_backend()
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'
    async with backend.connection() as conn:
        assert await conn.execute_many(insert, []) == 0
        assert await conn.execute_many(insert, [[i, "x"] for i in range(2500)]) == 2500
        assert not conn.in_transaction
        changed = await conn.execute_many(
            f'UPDATE "{table}" SET v = $1 WHERE k = $2', [["y", 1], ["y", 2], ["y", -5]]
        )
        assert changed == 2
        await conn.begin()
        await conn.execute_many(insert, [[-1, "a"], [-2, "b"]])
        assert conn.in_transaction
        await conn.rollback()
    assert await count_rows(monitor, table) == 2500


async def test_execute_many_with_a_duplicate_writes_nothing(
    open_backend: OpenBackend, table: str, monitor: psycopg.AsyncConnection[Any]
) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        with pytest.raises(UniqueViolationError) as info:
            await conn.execute_many(
                f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)',
                ten_thousand_rows_with_a_duplicate(),
            )
        assert info.value.code == "23505"
        assert not conn.in_transaction
        assert await conn.fetch("SELECT 1", []) == [(1,)]
    assert await count_rows(monitor, table) == 0


async def test_copy_insert_returns_keys_in_row_order(open_backend: OpenBackend, table: str) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        await conn.execute(f'INSERT INTO "{table}" (k) VALUES (-1)', [])
        rows = [[i, None if i % 3 == 0 else f"v\t{i}\n\\"] for i in range(1000)]
        keys = await conn.copy_insert(table, ["k", "v"], rows, returning_pk="id")
        assert len(keys) == 1000
        assert keys == sorted(keys)
        assert not conn.in_transaction
        by_key: dict[int, Any] = dict(
            await conn.fetch(f'SELECT id, v FROM "{table}" WHERE k >= 0', [])
        )
        assert [by_key[key] for key in keys] == [v for _, v in rows]
        # Without returning_pk nothing is returned and the database numbers the rows.
        assert await conn.copy_insert(table, ["k"], [[5000], [5001]]) == []
        assert await conn.copy_insert(table, ["k"], []) == []
        assert await conn.fetch(f'SELECT count(*) FROM "{table}"', []) == [(1003,)]
        # A key column without a sequence cannot hand out keys: refused, nothing written.
        with pytest.raises(ManagerError, match="no sequence"):
            await conn.copy_insert(table, ["v"], [["x"]], returning_pk="k")
        assert await conn.fetch(f'SELECT count(*) FROM "{table}"', []) == [(1003,)]


async def test_copy_insert_with_a_duplicate_writes_nothing(
    open_backend: OpenBackend, table: str, monitor: psycopg.AsyncConnection[Any]
) -> None:
    backend = await open_backend()
    async with backend.connection() as conn:
        with pytest.raises(UniqueViolationError) as info:
            await conn.copy_insert(
                table, ["k", "v"], ten_thousand_rows_with_a_duplicate(), returning_pk="id"
            )
        assert info.value.code == "23505"
        assert not conn.in_transaction
        # Inside a caller's transaction, COPY is undone with it.
        await conn.begin()
        await conn.copy_insert(table, ["k", "v"], [[1, "a"], [2, "b"]])
        await conn.rollback()
    assert await count_rows(monitor, table) == 0


async def test_copy_insert_takes_every_kind(open_backend: OpenBackend) -> None:
    backend = await open_backend()
    adapters = backend.dialect.adapters
    name = f"pgb_copytypes_{uuid.uuid4().hex[:8]}"
    values = [
        adapters["json"]({"k": ["v", 1]}),
        adapters["array"]([1, 2]),
        Decimal("1.10"),
        b"\x00\x01",
        datetime(2024, 1, 1, 12, tzinfo=UTC),
        timedelta(hours=25),
        uuid.UUID(int=7),
        True,
    ]
    async with backend.connection() as conn:
        await conn.execute(
            f'CREATE TABLE "{name}" (id BIGSERIAL PRIMARY KEY, j JSONB, a INT[], '
            "n NUMERIC(5,2), b BYTEA, ts TIMESTAMPTZ, iv INTERVAL, u UUID, f BOOLEAN)",
            [],
        )
        try:
            [key] = await conn.copy_insert(
                name, ["j", "a", "n", "b", "ts", "iv", "u", "f"], [values], returning_pk="id"
            )
            [row] = await conn.fetch(
                f'SELECT j, a, n, b, ts, iv, u, f FROM "{name}" WHERE id = $1', [key]
            )
        finally:
            await conn.execute(f'DROP TABLE "{name}"', [])
    assert row == (
        {"k": ["v", 1]},
        [1, 2],
        Decimal("1.10"),
        b"\x00\x01",
        datetime(2024, 1, 1, 12, tzinfo=UTC),
        timedelta(hours=25),
        uuid.UUID(int=7),
        True,
    )


# -- streaming -------------------------------------------------------------------------


async def test_stream_uses_a_server_cursor_in_chunks(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any]
) -> None:
    backend = await open_backend()
    sql = "SELECT x FROM generate_series(1, $1::int) AS x"
    async with backend.connection() as conn:
        sizes = []
        async for chunk in conn.stream(sql, [25], chunk_size=10):
            sizes.append(len(chunk))
            # The rows come from a named cursor held open in a transaction.
            cursors = await conn.fetch("SELECT count(*) FROM pg_cursors", [])
            assert cursors == [(1,)]
            assert conn.in_transaction
        assert sizes == [10, 10, 5]
        assert not conn.in_transaction
        assert [c async for c in conn.stream(sql, [0], chunk_size=10)] == []


async def test_stream_closed_early_leaves_the_connection_idle(open_backend: OpenBackend) -> None:
    backend = await open_backend(max_connections=1)
    sql = "SELECT x FROM generate_series(1, 1000000) AS x"
    async with backend.connection() as conn:
        chunks = conn.stream(sql, [], chunk_size=100)
        async for _ in chunks:
            break
        await chunks.aclose()  # type: ignore[attr-defined]
        assert not conn.in_transaction
        # Inside the caller's transaction only the cursor goes away.
        await conn.begin()
        chunks = conn.stream(sql, [], chunk_size=100)
        async for _ in chunks:
            break
        await chunks.aclose()  # type: ignore[attr-defined]
        assert conn.in_transaction
        assert await conn.fetch("SELECT count(*) FROM pg_cursors", []) == [(0,)]
        await conn.rollback()


# -- pool settings ---------------------------------------------------------------------


async def test_application_name_and_min_connections(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    await open_backend(min_connections=2, max_connections=4)
    # open() waits for min_connections, all tagged with the application name.
    assert len(await sessions(monitor, app_name)) == 2


async def test_max_connections_bounds_the_pool_and_acquire_times_out(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    backend = await open_backend(max_connections=2, min_connections=0, acquire_timeout=0.5)
    async with backend.connection(), backend.connection():
        assert len(await sessions(monitor, app_name)) == 2
        started = time.monotonic()
        with pytest.raises(OperationalError, match=r"127\.0\.0\.1|localhost") as info:
            async with backend.connection():
                pass
        assert 0.4 < time.monotonic() - started < 2.0
        assert info.value.code == "08001"
    async with backend.connection() as conn:
        assert await conn.fetch("SELECT 1", []) == [(1,)]


async def test_test_before_acquire_pings_each_lent_connection(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    for checked in (False, True):
        backend = await open_backend(
            max_connections=1, test_before_acquire=checked, pg_application_name=app_name + "x"
        )
        async with backend.connection() as conn:
            await conn.fetch("SELECT 'last statement'", [])
        async with backend.connection():
            [(_, _, query)] = await sessions(monitor, app_name + "x")
        # The check is an empty query the server saw after our last statement.
        assert query == ("" if checked else "SELECT 'last statement'")
        await backend.close()


async def test_max_lifetime_and_idle_timeout_retire_connections(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    backend = await open_backend(max_connections=1, max_lifetime=0.3)
    async with backend.connection() as conn:
        [(first,)] = await conn.fetch("SELECT pg_backend_pid()", [])
    await asyncio.sleep(0.4)
    async with backend.connection():
        pass  # returned past its lifetime: closed and replaced
    async with backend.connection() as conn:
        [(second,)] = await conn.fetch("SELECT pg_backend_pid()", [])
    assert first != second
    await backend.close()

    backend = await open_backend(max_connections=3, min_connections=1, idle_timeout=0.2)
    async with backend.connection(), backend.connection(), backend.connection():
        assert len(await sessions(monitor, app_name)) == 3
    for _ in range(50):
        if len(await sessions(monitor, app_name)) == 1:
            break
        await asyncio.sleep(0.1)
    # Idle connections above min_connections were closed.
    assert len(await sessions(monitor, app_name)) == 1


async def test_statement_cache_capacity_and_prepare_switch(
    open_backend: OpenBackend, server_url: str
) -> None:
    async def prepared_after_use(backend: PostgresBackend) -> int:
        async with backend.connection() as conn:
            for shape in range(4):
                for _ in range(6):
                    await conn.fetch(f"SELECT $1::int + {shape}", [1])
            # psycopg drops the statements past the capacity one statement later.
            await conn.fetch("SELECT 1", [])
            [(count,)] = await conn.fetch("SELECT count(*) FROM pg_prepared_statements", [])
            return int(count)

    assert await prepared_after_use(await open_backend(max_connections=1)) == 4
    capped = await open_backend(max_connections=1, pg_statement_cache_capacity=2)
    assert await prepared_after_use(capped) == 2
    assert await prepared_after_use(await open_backend(max_connections=1, pg_prepare=False)) == 0
    no_cache = await open_backend(max_connections=1, pg_statement_cache_capacity=0)
    assert await prepared_after_use(no_cache) == 0
    # psycopg's own option in the URL does what pg_prepare=False does.
    sep = "&" if "?" in server_url else "?"
    by_url = await open_backend(f"{server_url}{sep}prepare_threshold=none", max_connections=1)
    assert await prepared_after_use(by_url) == 0
    with pytest.raises(ValueError, match="prepare_threshold"):
        await open_backend(f"{server_url}{sep}prepare_threshold=-3")


async def test_ssl_settings_reach_libpq(open_backend: OpenBackend, tmp_path: Any) -> None:
    async with (await open_backend(ssl_mode="disable")).connection() as conn:
        [(ssl,)] = await conn.fetch("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", [])
    assert ssl is False
    missing = tmp_path / "no-such-root.crt"
    with pytest.raises(OperationalError, match=r"no-such-root\.crt|SSL"):
        await open_backend(ssl_mode="verify-full", ssl_root_cert=str(missing), acquire_timeout=1)
    # The MySQL spellings PoolSettings accepts mean the same on PostgreSQL.
    with pytest.raises(OperationalError, match=r"no-such-root\.crt|SSL"):
        await open_backend(
            ssl_mode="verify_identity", ssl_root_cert=str(missing), acquire_timeout=1
        )


async def test_query_string_options_go_to_libpq(open_backend: OpenBackend, server_url: str) -> None:
    sep = "&" if "?" in server_url else "?"
    backend = await open_backend(f"{server_url}{sep}options=-c%20work_mem%3D1234kB")
    async with backend.connection() as conn:
        assert await conn.fetch("SHOW work_mem", []) == [("1234kB",)]


# -- failures of the server or the task ------------------------------------------------


async def test_connection_refused_fails_within_acquire_timeout() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    backend = PostgresBackend(
        parse_url(f"postgresql://postgres@127.0.0.1:{port}/test"),
        PoolSettings(acquire_timeout=1),
        name="refused",
    )
    started = time.monotonic()
    with pytest.raises(OperationalError) as info:
        await backend.open()
    elapsed = time.monotonic() - started
    assert elapsed < 2.5
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message.lower()
    assert info.value.code == "08001"


async def test_a_terminated_backend_is_replaced(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], app_name: str
) -> None:
    for checked in (False, True):
        backend = await open_backend(max_connections=1, test_before_acquire=checked)
        async with backend.connection() as conn:
            [(pid,)] = await conn.fetch("SELECT pg_backend_pid()", [])
        await monitor.execute("SELECT pg_terminate_backend(%s)", [pid])
        await asyncio.sleep(0.05)
        async with backend.connection() as conn:
            [(new_pid,)] = await conn.fetch("SELECT pg_backend_pid()", [])
        assert new_pid != pid
        await backend.close()


async def test_termination_inside_a_transaction_is_operational(
    open_backend: OpenBackend, monitor: psycopg.AsyncConnection[Any], table: str
) -> None:
    backend = await open_backend(max_connections=1)
    with pytest.raises(OperationalError) as info:
        async with backend.connection() as conn:
            await conn.begin()
            await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
            [(pid,)] = await conn.fetch("SELECT pg_backend_pid()", [])
            await monitor.execute("SELECT pg_terminate_backend(%s)", [pid])
            await asyncio.sleep(0.05)
            await conn.execute(f'INSERT INTO "{table}" (k) VALUES (2)', [])
    assert str(info.value.code).startswith(("08", "57P"))
    async with backend.connection() as conn:
        assert await conn.fetch(f'SELECT count(*) FROM "{table}"', []) == [(0,)]


async def test_cancelled_task_cancels_its_statement_and_rolls_back(
    open_backend: OpenBackend,
    monitor: psycopg.AsyncConnection[Any],
    app_name: str,
    table: str,
) -> None:
    backend = await open_backend(max_connections=1)
    started = asyncio.Event()

    async def long_transaction() -> None:
        async with backend.connection() as conn:
            await conn.begin()
            await conn.execute(f'INSERT INTO "{table}" (k) VALUES (1)', [])
            started.set()
            await conn.fetch("SELECT pg_sleep(30)", [])

    task = asyncio.create_task(long_transaction())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.1)
    [(pid, state, query)] = await sessions(monitor, app_name)
    assert (state, query) == ("active", "SELECT pg_sleep(30)")
    task.cancel()
    cancelled_at = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < 2
    # The server stopped the sleep, rolled back, and the session is idle in the pool.
    [(same_pid, state, _)] = await sessions(monitor, app_name)
    assert (same_pid, state) == (pid, "idle")
    assert await count_rows(monitor, table) == 0
    async with backend.connection() as conn:
        assert not conn.in_transaction
        assert await conn.fetch("SELECT pg_backend_pid()", []) == [(pid,)]


# -- PgBouncer in transaction mode -----------------------------------------------------


async def test_prepared_statements_break_behind_pgbouncer_unless_turned_off(
    open_backend: OpenBackend, pgbouncer_url: str
) -> None:
    async def reuse_across_server_connections(backend: PostgresBackend) -> list[Any]:
        async with backend.connection() as a:
            for _ in range(7):  # prepared by now, on the server connection it ran on
                await a.fetch("SELECT $1::int", [1])
            async with backend.connection() as b:
                # b's transaction pins that server connection, so a gets another one.
                await b.begin()
                await b.fetch("SELECT 1", [])
                try:
                    return await a.fetch("SELECT $1::int", [2])
                finally:
                    await b.rollback()

    prepared = await open_backend(pgbouncer_url, max_connections=2, min_connections=2)
    # The failure this setting exists for: proves the test can see it. Outside a
    # transaction a statement whose prepared form is missing is prepared again, in
    # the same round trip as it runs; inside one the error cannot be undone.
    assert await reuse_across_server_connections(prepared) == [(2,)]
    async with prepared.connection() as a:
        for _ in range(7):  # prepared again, on the server connection it ran on
            await a.fetch("SELECT $1::int", [1])
        async with prepared.connection() as b:
            await b.begin()
            await b.fetch("SELECT 1", [])
            await a.begin()
            try:
                with pytest.raises(OperationalError) as info:
                    await a.fetch("SELECT $1::int", [2])
            finally:
                await a.rollback()
                await b.rollback()
    assert info.value.code == "26000"
    unprepared = await open_backend(
        pgbouncer_url, max_connections=2, min_connections=2, pg_prepare=False
    )
    assert await reuse_across_server_connections(unprepared) == [(2,)]


async def test_the_backend_works_through_pgbouncer(
    open_backend: OpenBackend, pgbouncer_url: str, table: str
) -> None:
    backend = await open_backend(pgbouncer_url, max_connections=4, pg_prepare=False)
    insert = f'INSERT INTO "{table}" (k, v) VALUES ($1, $2)'

    async def worker(n: int) -> None:
        async with backend.connection() as conn:
            for i in range(10):
                async with conn.atomic_block():
                    await conn.execute(insert, [n * 100 + i, "w"])
                    await conn.fetch(f'SELECT count(*) FROM "{table}" WHERE k = $1', [i])

    await asyncio.gather(*(worker(n) for n in range(6)))
    async with backend.connection() as conn:
        assert await conn.execute_many(insert, [[-i, "m"] for i in range(1, 501)]) == 500
        with pytest.raises(UniqueViolationError):
            await conn.execute_many(insert, [[-1000, "x"], [-1, "dup"]])
        keys = await conn.copy_insert(table, ["k", "v"], [[5000, "c"]], returning_pk="id")
        assert len(keys) == 1
        chunks = [len(c) async for c in conn.stream(f'SELECT k FROM "{table}"', [], chunk_size=200)]
        assert chunks == [200, 200, 161]
        # Aware datetimes still read back in UTC through the bouncer.
        [(now,)] = await conn.fetch("SELECT now()", [])
        assert now.tzinfo is UTC


# -- through the ORM -------------------------------------------------------------------

on_postgres = pytest.mark.parametrize("backend_name", ["postgres"])


@on_postgres
async def test_orm_bulk_create_with_a_duplicate_writes_nothing(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from oxyde.exceptions import UniqueViolationError as Unique
    from tests.support.models import Company

    await model_tables(Company)
    companies = [Company(name=f"c{i}") for i in range(10_000)]
    companies[7_531] = Company(name="c42")
    for batch_size in (None, 500):
        with pytest.raises(Unique):
            await Company.objects.bulk_create(companies, batch_size=batch_size)
        assert await Company.objects.count() == 0
    created = await Company.objects.bulk_create(companies[:7_531], batch_size=1000)
    assert [c.id for c in created] == sorted(c.id for c in created if c.id is not None)
    assert await Company.objects.count() == 7_531


@on_postgres
async def test_orm_bulk_update_runs_in_one_pipeline(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from tests.support.models import Company

    await model_tables(Company)
    companies = await Company.objects.bulk_create([Company(name=f"c{i}") for i in range(3000)])
    for company in companies:
        company.country = "NL"
    companies[2_999].name = "c0"  # duplicate: the whole update is refused
    with pytest.raises(UniqueViolationError):
        await Company.objects.bulk_update(companies, ["name", "country"])
    assert await Company.objects.filter(country="NL").count() == 0
    companies[2_999].name = "c2999"
    assert await Company.objects.bulk_update(companies, ["name", "country"]) == 3000
    assert await Company.objects.filter(country="NL").count() == 3000


@on_postgres
async def test_orm_explain_analyze_json(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from tests.support.models import Company

    await model_tables(Company)
    await Company.objects.create(name="Acme")
    plan = await Company.objects.filter(name="Acme").explain(analyze=True, format="json")
    assert isinstance(plan, list)
    assert "Actual Total Time" in plan[0]["Plan"]
    text = await Company.objects.filter(name="Acme").explain()
    assert isinstance(text, str) and "Scan" in text


@on_postgres
@pytest.mark.timeout(20)
async def test_orm_row_locks_block_other_transactions(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from oxyde.db import atomic
    from tests.support.models import Company

    await model_tables(Company)
    acme = await Company.objects.create(name="Acme")
    locked = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with atomic():
            await Company.objects.filter(id=acme.id).for_update().all()
            locked.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await asyncio.wait_for(locked.wait(), 5)
    try:
        with pytest.raises(OperationalError) as info:
            async with atomic():
                await Company.objects.filter(id=acme.id).select_for_update(nowait=True).all()
        assert info.value.code == "55P03"
        with pytest.raises(OperationalError) as info:
            async with atomic():
                await Company.objects.filter(id=acme.id).for_share(nowait=True).all()
        assert info.value.code == "55P03"
        async with atomic():
            query = Company.objects.filter(id=acme.id).select_for_update(skip_locked=True)
            assert await query.all() == []
    finally:
        release.set()
        await task


@on_postgres
async def test_orm_iterator_streams_through_a_server_cursor(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from oxyde.db import atomic
    from tests.support.models import Company

    await model_tables(Company)
    await Company.objects.bulk_create([Company(name=f"c{i:04}") for i in range(2500)])
    names = [c.name async for c in Company.objects.order_by("name").iterator(chunk_size=700)]
    assert names == [f"c{i:04}" for i in range(2500)]
    async with atomic():
        seen = 0
        async for _ in Company.objects.iterator(chunk_size=100):
            seen += 1
            if seen == 1:
                rows = await database.fetch("SELECT count(*) FROM pg_cursors", [])
                assert rows == [(1,)]
        assert seen == 2500


@on_postgres
async def test_orm_execute_raw_uses_dollar_placeholders(
    database: Any, model_tables: Callable[..., Awaitable[None]]
) -> None:
    from oxyde.queries import execute_raw
    from tests.support.models import Company

    await model_tables(Company)
    await Company.objects.create(name="50% off", country="US")
    rows = await execute_raw(
        "SELECT name FROM it_company WHERE country = $1 AND name LIKE '50%' || $2", ["US", ""]
    )
    assert rows == [{"name": "50% off"}]
