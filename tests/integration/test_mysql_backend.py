"""The MySQL / MariaDB backend at the Executor level: raw SQL against the real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import functools
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.backends import is_required, skip_module_unless_selected

URL = os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


#: prefix of every table this module makes: unique per process, so parallel runs
#: against one server do not meet
OXB = f"oxb{os.getpid()}_"
skip_module_unless_selected("mysql")
if not is_required("mysql"):
    pytest.importorskip("MySQLdb")

import MySQLdb  # noqa: E402

from oxyde.backends.lease import LeasedConnection  # noqa: E402
from oxyde.backends.mysql import MySQLBackend  # noqa: E402
from oxyde.backends.mysql.dialect import parse_server, server_dialect  # noqa: E402
from oxyde.backends.mysql.session import Session  # noqa: E402
from oxyde.backends.settings import PoolSettings  # noqa: E402
from oxyde.exceptions import (  # noqa: E402
    CheckViolationError,
    ForeignKeyViolationError,
    NotNullViolationError,
    OperationalError,
    UniqueViolationError,
)
from oxyde.sql.dialects.mysql import MYSQL  # noqa: E402

pytestmark = pytest.mark.mysql


def numbers(n: int) -> str:
    """SQL for the integers 1..n (n <= 100000) in order, on MySQL and MariaDB alike."""
    return (
        "WITH RECURSIVE d (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 9) "
        "SELECT * FROM (SELECT a.n + 10 * b.n + 100 * c.n + 1000 * e.n + 10000 * f.n + 1 AS n "
        f"FROM d a, d b, d c, d e, d f) AS s WHERE n <= {int(n)} ORDER BY n"
    )


async def open_backend(url: str = URL, **settings: Any) -> MySQLBackend:
    settings.setdefault("acquire_timeout", 5)
    backend = MySQLBackend(url, PoolSettings(**settings))
    try:
        await backend.open()
    except OperationalError as exc:
        if is_required("mysql"):
            raise
        pytest.skip(f"no MySQL server at {url}: {exc}")
    return backend


@pytest.fixture
async def backend() -> AsyncIterator[MySQLBackend]:
    b = await open_backend(max_connections=4)
    yield b
    await b.close()


@pytest.fixture
async def table(backend: MySQLBackend) -> AsyncIterator[str]:
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXB}item", [])
        await c.execute(
            f"CREATE TABLE {OXB}item (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "code INT NOT NULL UNIQUE, note VARCHAR(50) NULL) ENGINE=InnoDB",
            [],
        )
    yield f"{OXB}item"
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXB}item", [])


async def count(backend: MySQLBackend, table: str = f"{OXB}item") -> int:
    async with backend.connection() as c:
        rows = await c.fetch(f"SELECT COUNT(*) FROM {table}", [])
    return int(rows[0][0])


# -- statements --------------------------------------------------------------------------


async def test_fetch_binds_values_and_keeps_literal_percent(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        rows = await c.fetch("SELECT %s, %s, 'a%%b', %s IS NULL", [1, "x'; --%s", None])
        names, described = await c.fetch_described("SELECT 1 AS one, 'two' AS two", [])
    assert rows == [(1, "x'; --%s", "a%b", 1)]
    assert names == ["one", "two"]
    assert described == [(1, "two")]


async def test_write_fetch_reports_generated_key(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        first = await c.fetch(f"INSERT INTO {OXB}item (code) VALUES (%s)", [1], write=True)
        multi = await c.fetch(
            f"INSERT INTO {OXB}item (code) VALUES (%s), (%s), (%s)", [2, 3, 4], write=True
        )
        ids = [r[0] for r in await c.fetch(f"SELECT id FROM {OXB}item ORDER BY id", [])]
        plain = await c.fetch(f"UPDATE {OXB}item SET note = 'x' WHERE code = 1", [], write=True)
        described = await c.fetch_described(
            f"INSERT INTO {OXB}item (code) VALUES (%s)", [5], write=True
        )
    assert first == [(ids[0],)]
    # a multi-row INSERT reports its first key; the others follow by insert_id_step
    assert multi == [(ids[1],)]
    step = backend.dialect.insert_id_step
    assert ids[1:] == [ids[1] + i * step for i in range(3)]
    assert plain == []
    # with column names asked for (raw SQL), a statement without a result has no rows
    assert described == ([], [])


async def test_execute_counts_matched_rows(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        await c.execute(f"INSERT INTO {OXB}item (code, note) VALUES (1, 'same'), (2, 'same')", [])
        # rows whose value does not change still count, as on PostgreSQL and SQLite
        changed = await c.execute(f"UPDATE {OXB}item SET note = %s", ["same"])
        deleted = await c.execute(f"DELETE FROM {OXB}item WHERE code = %s", [2])
    assert changed == 2
    assert deleted == 1


async def test_returning_capability_matches_server(backend: MySQLBackend, table: str) -> None:
    server, version = parse_server(backend.server_info)
    dialect = backend.dialect
    statements = {
        "insert": f"INSERT INTO {OXB}item (code) VALUES (%s), (%s) RETURNING id, code",
        "delete": f"DELETE FROM {OXB}item WHERE code = %s RETURNING code",
        "update": f"UPDATE {OXB}item SET note = 'n' WHERE code = %s RETURNING code",
    }
    params = {"insert": [10, 11], "delete": [10], "update": [11]}
    async with backend.connection() as c:
        for stmt, sql in statements.items():
            if dialect.supports_returning(stmt):
                rows = await c.fetch(sql, params[stmt], write=True)
                assert rows, stmt
            else:
                with pytest.raises(OperationalError) as info:
                    await c.fetch(sql, params[stmt], write=True)
                assert info.value.code == 1064  # a syntax error: the server has none
    if server == "mariadb" and version >= (10, 5, 0):
        assert dialect.returning_on == {"insert", "delete"}
        assert not dialect.returning
    elif server == "mysql":
        assert dialect is MYSQL


def test_server_dialect_from_version_strings() -> None:
    assert server_dialect("8.0.36") is MYSQL
    assert server_dialect("10.11.19-MariaDB-0+deb12u1").returning_on == {"insert", "delete"}
    assert server_dialect("5.5.5-10.4.2-MariaDB").returning_on == {"delete"}
    assert server_dialect("8.0.36", 2).insert_id_step == 2
    # variants are shared, so the compiler caches one set of statements per server kind
    assert server_dialect("10.6.1-MariaDB") is server_dialect("10.11.2-MariaDB")


async def test_call_results_are_all_consumed(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        await c.execute(f"DROP PROCEDURE IF EXISTS {OXB}proc", [])
        await c.execute(f"CREATE PROCEDURE {OXB}proc() BEGIN SELECT 1; SELECT 2; END", [])
        try:
            assert await c.fetch(f"CALL {OXB}proc()", []) == [(1,)]
            # the second result set and the CALL status were read away
            assert await c.fetch("SELECT 3", []) == [(3,)]
        finally:
            await c.execute(f"DROP PROCEDURE IF EXISTS {OXB}proc", [])


# -- errors --------------------------------------------------------------------------------


async def test_errors_map_to_typed_exceptions(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXB}child", [])
        await c.execute(f"DROP TABLE IF EXISTS {OXB}parent", [])
        await c.execute(f"CREATE TABLE {OXB}parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB", [])
        await c.execute(
            f"CREATE TABLE {OXB}child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, "
            f"qty INT NOT NULL, CONSTRAINT {OXB}qty CHECK (qty >= 0), "
            f"FOREIGN KEY (parent_id) REFERENCES {OXB}parent (id)) ENGINE=InnoDB",
            [],
        )
        try:
            await c.execute(f"INSERT INTO {OXB}parent VALUES (1)", [])
            await c.execute(f"INSERT INTO {OXB}child VALUES (1, 1, 1)", [])
            cases: list[tuple[type[Exception], set[int], str]] = [
                (UniqueViolationError, {1062}, f"INSERT INTO {OXB}parent VALUES (1)"),
                (ForeignKeyViolationError, {1452}, f"INSERT INTO {OXB}child VALUES (2, 9, 1)"),
                (ForeignKeyViolationError, {1451}, f"DELETE FROM {OXB}parent"),
                (NotNullViolationError, {1048}, f"INSERT INTO {OXB}child VALUES (3, 1, NULL)"),
                (NotNullViolationError, {1364}, f"INSERT INTO {OXB}child (id, qty) VALUES (4, 1)"),
                (CheckViolationError, {3819, 4025}, f"INSERT INTO {OXB}child VALUES (5, 1, -1)"),
                (OperationalError, {1146}, f"SELECT * FROM {OXB}missing_table"),
                (OperationalError, {1064}, "SELEKT 1"),
            ]
            for cls, codes, sql in cases:
                with pytest.raises(cls) as info:
                    await c.execute(sql, [])
                assert info.value.code in codes, sql
                assert isinstance(info.value.__cause__, MySQLdb.Error)
                assert str(info.value.code) in str(info.value)
            # a constraint error leaves the connection usable
            assert await c.fetch(f"SELECT COUNT(*) FROM {OXB}child", []) == [(1,)]
        finally:
            await c.execute(f"DROP TABLE IF EXISTS {OXB}child", [])
            await c.execute(f"DROP TABLE IF EXISTS {OXB}parent", [])


async def test_deadlock_is_an_operational_error_with_its_errno(
    backend: MySQLBackend, table: str
) -> None:
    async with backend.connection() as c:
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1), (2)", [])
    a_locked, b_locked = asyncio.Event(), asyncio.Event()

    async def worker(mine: int, other: int, locked: asyncio.Event, wait: asyncio.Event) -> None:
        async with backend.connection() as c:
            await c.begin()
            try:
                await c.execute(f"UPDATE {OXB}item SET note = 'x' WHERE code = %s", [mine])
                locked.set()
                await wait.wait()
                await c.execute(f"UPDATE {OXB}item SET note = 'y' WHERE code = %s", [other])
                await c.commit()
            finally:
                if c.in_transaction:
                    await c.rollback()

    results = await asyncio.wait_for(
        asyncio.gather(
            worker(1, 2, a_locked, b_locked),
            worker(2, 1, b_locked, a_locked),
            return_exceptions=True,
        ),
        30,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], OperationalError)
    assert errors[0].code == 1213


# -- types ---------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


async def test_values_round_trip_through_dialect_adapters(backend: MySQLBackend) -> None:
    dialect = backend.dialect
    columns = {
        "j": ("JSON", "json", {"a": [1, 2.5, None, "é"], "b": {"c": True}}),
        "dt": ("DATETIME(6)", "datetime", dt.datetime(2024, 2, 29, 23, 59, 58, 123456)),
        "d": ("DATE", "date", dt.date(1999, 12, 31)),
        "t": ("TIME(6)", "time", dt.time(7, 8, 9, 10)),
        "dec": ("DECIMAL(20,6)", "decimal", decimal.Decimal("-12345678901234.000001")),
        "u": ("CHAR(36)", "uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        "b": ("TINYINT(1)", "bool", True),
        "e": ("ENUM('red','green')", "enum", Color.GREEN),
        "bl": ("LONGBLOB", "bytes", b"\x00\xff\xfe'\\\x00 not utf-8 \x80"),
        "td": ("BIGINT", "timedelta", dt.timedelta(days=-3, seconds=5, microseconds=7)),
        "arr": ("JSON", "array", [1, 2, 3]),
        "s": ("VARCHAR(20)", "str", "😀 'quoted' \\ %s"),
        "f": ("DOUBLE", "float", 0.1 + 0.2),
        "i": ("BIGINT", "int", -(2**63)),
    }
    ddl = ", ".join(f"`{name}` {sqltype} NULL" for name, (sqltype, _, _) in columns.items())
    names = [f"`{name}`" for name in columns]
    params = []
    for _, kind, value in columns.values():
        adapt = dialect.adapters.get(kind)
        params.append(adapt(value) if adapt else value)
    async with backend.connection() as c:
        await c.execute(f"DROP TABLE IF EXISTS {OXB}types", [])
        await c.execute(f"CREATE TABLE {OXB}types ({ddl})", [])
        try:
            placeholders = ", ".join(["%s"] * len(names))
            await c.execute(
                f"INSERT INTO {OXB}types ({', '.join(names)}) VALUES ({placeholders})", params
            )
            await c.execute(f"INSERT INTO {OXB}types ({names[0]}) VALUES (NULL)", [])
            rows = await c.fetch(f"SELECT {', '.join(names)} FROM {OXB}types", [])
        finally:
            await c.execute(f"DROP TABLE IF EXISTS {OXB}types", [])
    stored, empty = rows
    assert empty == (None,) * len(names)
    for (name, (_, kind, value)), raw in zip(columns.items(), stored, strict=True):
        convert = dialect.converters.get(kind)
        back = convert(raw) if convert else raw
        if kind == "enum":
            back = Color(back)
        assert back == value, name
        assert type(back) is type(value), name


async def test_aware_datetime_is_stored_as_utc(backend: MySQLBackend) -> None:
    adapt = backend.dialect.adapters["datetime"]
    aware = dt.datetime(2024, 6, 1, 12, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    async with backend.connection() as c:
        rows = await c.fetch(
            "SELECT CAST(%s AS DATETIME(6)), NOW() - UTC_TIMESTAMP()", [adapt(aware)]
        )
    assert rows[0][0] == dt.datetime(2024, 6, 1, 7, 0, 0, 250000)
    # the session runs in UTC, so server-side timestamps follow the same rule
    assert rows[0][1] == 0


async def test_temporal_values_read_back_at_every_precision(backend: MySQLBackend) -> None:
    # The backend parses temporal text itself (not the driver's converters): every
    # fractional precision, TIMESTAMP and DATE must read as the driver would read them.
    async with backend.connection() as c:
        rows = await c.fetch(
            "SELECT CAST(%s AS DATETIME), CAST(%s AS DATETIME(1)), CAST(%s AS DATETIME(3)), "
            "CAST(%s AS DATETIME(6)), CAST(%s AS DATE), TIMESTAMP(%s), CAST(NULL AS DATETIME)",
            ["2024-02-29 23:59:58"] * 4 + ["0001-01-01", "9999-12-31 23:59:59.999999"],
        )
    assert rows[0] == (
        dt.datetime(2024, 2, 29, 23, 59, 58),
        dt.datetime(2024, 2, 29, 23, 59, 58),
        dt.datetime(2024, 2, 29, 23, 59, 58),
        dt.datetime(2024, 2, 29, 23, 59, 58),
        dt.date(1, 1, 1),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        None,
    )
    async with backend.connection() as c:
        rows = await c.fetch(
            "SELECT CAST(%s AS DATETIME(6)), CAST(%s AS DATETIME(3))",
            ["2001-02-03 04:05:06.000007", "2001-02-03 04:05:06.5"],
        )
    assert rows[0] == (
        dt.datetime(2001, 2, 3, 4, 5, 6, 7),
        dt.datetime(2001, 2, 3, 4, 5, 6, 500000),
    )
    assert [type(v) for v in rows[0]] == [dt.datetime, dt.datetime]


async def test_zero_dates_read_as_none(backend: MySQLBackend, table: str) -> None:
    # A zero date cannot be a Python date; the driver reads it as None, and so do we.
    async with backend.connection() as c:
        mode = (await c.fetch("SELECT @@SESSION.sql_mode", []))[0][0]
        await c.execute("SET SESSION sql_mode = ''", [])
        await c.execute(f"DROP TABLE IF EXISTS {OXB}zero", [])
        await c.execute(f"CREATE TABLE {OXB}zero (d DATE, t DATETIME(6))", [])
        try:
            await c.execute(
                f"INSERT INTO {OXB}zero VALUES ('0000-00-00', '0000-00-00 00:00:00')", []
            )
            rows = await c.fetch(f"SELECT d, t FROM {OXB}zero", [])
        finally:
            await c.execute(f"DROP TABLE IF EXISTS {OXB}zero", [])
            await c.execute("SET SESSION sql_mode = %s", [mode])
    assert rows == [(None, None)]


async def test_strict_mode_refuses_to_truncate(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        with pytest.raises(OperationalError) as info:
            await c.execute(f"INSERT INTO {OXB}item (code, note) VALUES (1, %s)", ["x" * 51])
    assert info.value.code == 1406  # ER_DATA_TOO_LONG, not a silent cut


# -- execute_many, transactions -----------------------------------------------------------


async def test_execute_many_is_all_or_nothing(backend: MySQLBackend, table: str) -> None:
    rows = [[i, f"n{i}"] for i in range(3000)]
    rows[2000] = [5, "duplicate"]
    async with backend.connection() as c:
        with pytest.raises(UniqueViolationError):
            await c.execute_many(f"INSERT INTO {OXB}item (code, note) VALUES (%s, %s)", rows)
        assert not c.in_transaction
    assert await count(backend) == 0
    async with backend.connection() as c:
        n = await c.execute_many(
            f"INSERT INTO {OXB}item (code, note) VALUES (%s, %s)", [[i, None] for i in range(500)]
        )
        assert n == 500
        updated = await c.execute_many(
            f"UPDATE {OXB}item SET note = %s WHERE code = %s", [["a", 1], ["b", 2], ["c", 9999]]
        )
        assert updated == 2
        assert await c.execute_many(f"DELETE FROM {OXB}item", []) == 0
    assert await count(backend) == 500


async def test_execute_many_inside_a_transaction_uses_a_savepoint(
    backend: MySQLBackend, table: str
) -> None:
    async with backend.connection() as c:
        await c.begin()
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (-1)", [])
        with pytest.raises(UniqueViolationError):
            await c.execute_many(f"INSERT INTO {OXB}item (code) VALUES (%s)", [[1], [2], [-1]])
        # the failed batch is gone, the transaction and its earlier row are intact
        assert c.in_transaction
        assert await c.fetch(f"SELECT code FROM {OXB}item", []) == [(-1,)]
        await c.execute_many(f"INSERT INTO {OXB}item (code) VALUES (%s)", [[1], [2]])
        await c.commit()
    assert await count(backend) == 3


async def test_transactions_commit_roll_back_and_nest(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        async with c.atomic_block() as tx:
            assert tx is c and c.in_transaction
            await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
            with pytest.raises(RuntimeError):
                async with c.atomic_block():
                    await c.execute(f"INSERT INTO {OXB}item (code) VALUES (2)", [])
                    raise RuntimeError("inner")
            async with c.atomic_block():
                await c.execute(f"INSERT INTO {OXB}item (code) VALUES (3)", [])
        assert not c.in_transaction
        with pytest.raises(RuntimeError):
            async with c.atomic_block():
                await c.execute(f"INSERT INTO {OXB}item (code) VALUES (4)", [])
                raise RuntimeError("outer")
        rows = await c.fetch(f"SELECT code FROM {OXB}item ORDER BY code", [])
    assert rows == [(1,), (3,)]


async def test_begin_refuses_to_nest_and_checks_isolation(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        with pytest.raises(ValueError, match="isolation"):
            await c.begin(isolation="chaos")
        await c.begin()
        try:
            # START TRANSACTION would silently commit the open transaction
            with pytest.raises(OperationalError, match="already open"):
                await c.begin()
        finally:
            await c.rollback()


async def test_read_only_transaction_refuses_writes(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        await c.begin(read_only=True)
        with pytest.raises(OperationalError) as info:
            await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
        assert info.value.code == 1792  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
        await c.rollback()


@pytest.mark.parametrize(("level", "sees_new_row"), [("read committed", True),
                                                     ("repeatable_read", False)])  # fmt: skip
async def test_isolation_level_takes_effect(
    backend: MySQLBackend, table: str, level: str, sees_new_row: bool
) -> None:
    async with backend.connection() as reader, backend.connection() as writer:
        await reader.begin(isolation=level)
        try:
            assert await reader.fetch(f"SELECT COUNT(*) FROM {OXB}item", []) == [(0,)]
            await writer.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
            seen = await reader.fetch(f"SELECT COUNT(*) FROM {OXB}item", [])
        finally:
            await reader.rollback()
    assert seen == [(1 if sees_new_row else 0,)]


async def test_concurrent_calls_on_one_connection_are_serialized(
    backend: MySQLBackend, table: str
) -> None:
    async with backend.connection() as c:
        await c.begin()
        results = await asyncio.gather(
            *(
                c.fetch(f"INSERT INTO {OXB}item (code) VALUES (%s)", [i], write=True)
                for i in range(10)
            ),
            *(c.fetch("SELECT SLEEP(0.01), %s", [i]) for i in range(5)),
        )
        await c.commit()
    assert len(results) == 15
    assert await count(backend) == 10


# -- streaming -----------------------------------------------------------------------------


async def test_stream_yields_chunks(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        chunks = [chunk async for chunk in c.stream(numbers(1000), [], chunk_size=300)]
        assert [len(ch) for ch in chunks] == [300, 300, 300, 100]
        assert chunks[-1][-1] == (1000,)
        empty = [ch async for ch in c.stream("SELECT 1 FROM DUAL WHERE FALSE", [], chunk_size=5)]
        assert empty == []
        # the connection is clean afterwards
        assert await c.fetch("SELECT 1", []) == [(1,)]


async def test_stream_left_early_discards_or_drains(backend: MySQLBackend, table: str) -> None:
    sql = numbers(100_000)
    async with backend.connection() as c:
        first = c.thread_id
        gen = c.stream(sql, [], chunk_size=100)
        async for _ in gen:
            with pytest.raises(OperationalError, match="stream"):
                await c.fetch("SELECT 1", [])
            break
        await gen.aclose()
    # outside a transaction the half-read connection is closed, not pooled
    async with backend.connection() as c:
        assert c.thread_id != first
        await c.begin()
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
        gen = c.stream(sql, [], chunk_size=100)
        async for _ in gen:
            break
        await gen.aclose()
        # inside one, the rest is read away and the transaction goes on
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (2)", [])
        await c.commit()
        kept = c.thread_id
    assert await count(backend) == 2
    async with backend.connection() as c:
        assert c.thread_id == kept


# -- pool and settings ---------------------------------------------------------------------


async def test_session_settings_take_effect() -> None:
    b = await open_backend(mysql_charset="utf8mb4", mysql_collation="utf8mb4_bin")
    try:
        async with b.connection() as c:
            rows = await c.fetch(
                "SELECT @@character_set_connection, @@collation_connection, @@time_zone, "
                "@@sql_mode, @@autocommit",
                [],
            )
    finally:
        await b.close()
    charset, collation, tz, sql_mode, autocommit = rows[0]
    assert (charset, collation, tz, autocommit) == ("utf8mb4", "utf8mb4_bin", "+00:00", 1)
    assert "STRICT_ALL_TABLES" in sql_mode


async def test_ssl_mode_reaches_the_driver(backend: MySQLBackend) -> None:
    async with backend.connection() as c:
        have_ssl = (await c.fetch("SHOW VARIABLES LIKE 'have_ssl'", []) or [("", "NO")])[0][1]
    if have_ssl == "YES":
        b = await open_backend(ssl_mode="required")
        await b.close()
    else:
        # required means required: no silent fallback to an unencrypted connection
        with pytest.raises(OperationalError, match=r"TLS|SSL"):
            await MySQLBackend(URL, PoolSettings(ssl_mode="required", acquire_timeout=5)).open()
        with pytest.raises(OperationalError, match=r"TLS|SSL"):
            await MySQLBackend(URL, PoolSettings(ssl_mode="verify-ca", acquire_timeout=5)).open()
    plain = await open_backend(ssl_mode="disabled")
    await plain.close()


async def test_pool_never_exceeds_max_connections() -> None:
    b = await open_backend(max_connections=3, min_connections=1)
    ids: set[int] = set()
    peak = 0
    active = 0

    async def job() -> None:
        nonlocal active, peak
        async with b.connection() as c:
            active += 1
            peak = max(peak, active)
            ids.add(c.thread_id)
            await c.fetch("SELECT SLEEP(0.02)", [])
            active -= 1

    try:
        await asyncio.gather(*(job() for _ in range(20)))
        assert peak == 3
        assert len(ids) == 3
        assert b.stats()["size"] == 3
    finally:
        await b.close()
    assert b.stats()["size"] == 0


async def test_acquire_times_out_when_the_pool_is_exhausted() -> None:
    b = await open_backend(max_connections=1, acquire_timeout=0.3)
    try:
        async with b.connection():
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(OperationalError, match="acquire_timeout"):
                async with b.connection():
                    pass
            assert 0.25 < loop.time() - start < 1.5
        # the lent connection came back: the pool works again
        async with b.connection() as c:
            assert await c.fetch("SELECT 1", []) == [(1,)]
    finally:
        await b.close()


async def test_idle_timeout_and_max_lifetime_retire_connections() -> None:
    b = await open_backend(max_connections=3, min_connections=1, idle_timeout=0.2)
    try:
        async with b.connection(), b.connection(), b.connection():
            assert b.stats()["size"] == 3
        assert b.stats()["idle"] == 3
        await asyncio.sleep(0.8)
        # idle beyond idle_timeout: closed down to min_connections
        assert b.stats()["size"] == 1
    finally:
        await b.close()
    b = await open_backend(max_connections=2, min_connections=1, max_lifetime=0.2)
    try:
        async with b.connection() as c:
            old = c.thread_id
        await asyncio.sleep(0.5)
        async with b.connection() as c:
            assert c.thread_id != old
    finally:
        await b.close()


async def test_test_before_acquire_replaces_a_dead_connection() -> None:
    b = await open_backend(max_connections=2, min_connections=1, test_before_acquire=True)
    try:
        async with b.connection() as c:
            victim = c.thread_id
        killer = await open_backend()
        try:
            async with killer.connection() as k:
                await k.execute(f"KILL CONNECTION {victim}", [])
        finally:
            await killer.close()
        async with b.connection() as c:
            assert c.thread_id != victim
            assert await c.fetch("SELECT 1", []) == [(1,)]
    finally:
        await b.close()


async def test_raw_transaction_control_is_never_pooled(backend: MySQLBackend, table: str) -> None:
    async with backend.connection() as c:
        first = c.thread_id
        await c.execute("START TRANSACTION", [])
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
    # the connection with the transaction opened behind the pool's back was closed,
    # which rolled it back
    async with backend.connection() as c:
        assert c.thread_id != first
    assert await count(backend) == 0


async def test_a_transaction_left_open_is_rolled_back_on_release(
    backend: MySQLBackend, table: str
) -> None:
    async with backend.connection() as c:
        await c.begin()
        await c.execute(f"INSERT INTO {OXB}item (code) VALUES (1)", [])
        leaked = c.thread_id
    for _ in range(50):
        await asyncio.sleep(0.01)
        if backend.stats()["idle"] == backend.stats()["size"]:
            break
    assert await count(backend) == 0
    async with backend.connection() as c:
        assert c.thread_id == leaked
        assert not c.in_transaction
        if "mariadb" in backend.server_info.lower():
            assert await c.fetch("SELECT @@in_transaction", []) == [(0,)]


async def test_mariadb_scheme_and_url_options(backend: MySQLBackend) -> None:
    url = URL.replace("mysql://", "mariadb://", 1)
    sep = "&" if "?" in url else "?"
    b = await open_backend(f"{url}{sep}connect_timeout=3&sql_mode=STRICT_ALL_TABLES")
    try:
        async with b.connection() as c:
            assert await c.fetch("SELECT @@sql_mode", []) == [("STRICT_ALL_TABLES",)]
    finally:
        await b.close()
    with pytest.raises(ValueError, match="unknown MySQL URL option"):
        MySQLBackend(f"{URL}{sep}bogus=1", PoolSettings())
    with pytest.raises(ValueError, match="sql_mode"):
        MySQLBackend(f"{URL}{sep}sql_mode=x'y", PoolSettings())


async def test_connections_are_executors(backend: MySQLBackend) -> None:
    from oxyde.backends.base import Connection, Executor

    async with backend.connection() as c:
        assert isinstance(c, LeasedConnection)
        assert isinstance(c.session, Session)  # the MySQL connection's own members
        assert isinstance(c, Executor)
        assert isinstance(c, Connection)
        assert c.dialect is backend.dialect


# -- binding -------------------------------------------------------------------------------

_BIND_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(),  # quotes, backslashes, NUL, astral characters, %s
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
)


@functools.cache
def _bind_session() -> Session:
    url = urllib.parse.urlsplit(URL)
    raw = MySQLdb.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.path.lstrip("/"),
        charset="utf8mb4",
        use_unicode=False,  # results as bytes: binary values need not decode
    )
    return Session(raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(_BIND_VALUES, max_size=8))
def test_binding_spells_every_value_as_mysqlclient_does(values: list[Any]) -> None:
    # ints, strings and NULLs take a shortcut past mysqlclient's literal(): same bytes
    session = _bind_session()
    raw = session.raw
    sql = "SELECT " + (", ".join(["%s"] * len(values)) or "1") + ", '100%%'"
    expected = sql.encode(raw.encoding) % tuple(raw.literal(v) for v in values)
    assert session._bind(sql, values) == expected
    raw.query(expected)
    (row,) = raw.store_result().fetch_row(0)
    assert row[-1] == b"100%"
