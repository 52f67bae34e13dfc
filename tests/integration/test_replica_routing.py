"""Read replicas: which server each kind of statement runs on, read-your-writes, routers,
a replica that is down, and the configuration forms.

The "servers" here are two SQLite files holding different rows in the same table, so the
rows a read returns say where it ran. Replication itself (PostgreSQL, MariaDB) is tested
in test_replication_postgres.py / test_replication_mysql.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from oxyde import Field, Model, db
from oxyde.cli.config import ConfigError, load_config
from oxyde.db import AsyncDatabase, PoolSettings, Replica, RoutingError, atomic
from oxyde.db.registry import lookup, unregister_connection
from oxyde.queries.raw import execute_raw

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite"])


class RtItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "rt_item"


class RtOther(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "rt_other"


async def _seed(url: str, rows: list[str]) -> None:
    """Create both tables in the file at ``url`` with ``rows`` in each."""
    seeder = AsyncDatabase(url, name="seed", auto_register=False)
    async with seeder:
        for table in ("rt_item", "rt_other"):
            await seeder.execute(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)", ()
            )
            for name in rows:
                await seeder.execute(f"INSERT INTO {table} (name) VALUES (?)", (name,))


@pytest.fixture
async def urls(tmp_path: Path, backend_name: str) -> dict[str, str]:
    urls = {
        "primary": f"sqlite:///{tmp_path / 'primary.db'}",
        "replica1": f"sqlite:///{tmp_path / 'replica1.db'}",
        "replica2": f"sqlite:///{tmp_path / 'replica2.db'}",
    }
    await _seed(urls["primary"], ["on-primary"])
    await _seed(urls["replica1"], ["on-replica1"])
    await _seed(urls["replica2"], ["on-replica2"])
    return urls


@pytest.fixture
async def cluster(urls: dict[str, str]) -> AsyncIterator[Any]:
    """``await cluster(replicas=[...], **options)``: a registered "default" database."""
    made: list[AsyncDatabase] = []

    async def make(replicas: Any = None, **options: Any) -> AsyncDatabase:
        if replicas is None:
            replicas = [urls["replica1"]]
        options.setdefault("check_interval", 0.05)
        database = AsyncDatabase(urls["primary"], replicas=replicas, overwrite=True, **options)
        made.append(database)
        await database.connect()
        return database

    yield make
    for database in made:
        await database.disconnect()
        if lookup(database.name) is database:
            unregister_connection(database.name)


async def _names(query: Any = None) -> list[str]:
    rows = await (query or RtItem.objects.query()).values_list("name", flat=True).all()
    return list(rows)


async def in_fresh_context(coro_fn: Any) -> Any:
    """Run in a task with an empty context: another request, which wrote nothing."""
    return await asyncio.create_task(coro_fn(), context=contextvars.Context())


async def test_reads_go_to_the_replica_and_writes_to_the_primary(
    cluster: Any, urls: dict[str, str]
) -> None:
    database = await cluster()
    assert await _names() == ["on-replica1"]
    assert (await RtItem.objects.get(id=1)).name == "on-replica1"
    assert await RtItem.objects.count() == 1

    async def write() -> None:
        await RtItem.objects.create(name="written")

    await in_fresh_context(write)
    rows = await database.fetch("SELECT name FROM rt_item ORDER BY id", ())
    assert [r[0] for r in rows] == ["on-primary", "written"]  # database methods: primary
    assert await in_fresh_context(_names) == ["on-replica1"]  # the replica never got it
    stats = database.replica_stats()
    assert stats["replicas"][0]["state"] == "healthy"
    assert stats["replicas"][0]["queries"] >= 3


async def test_read_your_writes_sends_the_writing_context_to_the_primary(cluster: Any) -> None:
    database = await cluster(read_your_writes=30)
    other_started = asyncio.Event()
    wrote = asyncio.Event()

    async def other_request() -> list[str]:
        other_started.set()
        await wrote.wait()
        return await _names()

    other = asyncio.create_task(other_request())
    await other_started.wait()
    await RtItem.objects.create(name="mine")
    wrote.set()
    # this task reads its write; a task that did not write still reads the replica
    assert await _names() == ["on-primary", "mine"]
    assert await other == ["on-replica1"]
    assert database.replica_stats()["read_your_writes_reads"] >= 1


async def test_read_your_writes_window_ends_and_can_be_turned_off(cluster: Any) -> None:
    await cluster(read_your_writes=0.2)
    await RtItem.objects.filter(id=1).update(name="changed")
    assert await _names() == ["changed"]
    await asyncio.sleep(0.3)
    assert await _names() == ["on-replica1"]

    await cluster(read_your_writes=None)
    await RtItem.objects.create(name="x")
    assert await _names() == ["on-replica1"]


async def test_transactions_run_on_the_primary_and_mark_the_context(cluster: Any) -> None:
    await cluster(read_your_writes=30)

    async def in_transaction() -> list[str]:
        async with atomic():
            names = await _names()
            assert [o.name async for o in RtItem.objects.query().iterator()] == names
            assert (await RtItem.objects.get(id=1)).name == "on-primary"
        return names

    assert await in_fresh_context(in_transaction) == ["on-primary"]

    async def commit_then_read() -> list[str]:
        async with atomic():
            await RtItem.objects.create(name="committed")
        return await _names()

    assert await in_fresh_context(commit_then_read) == ["on-primary", "committed"]

    async def read_only_then_read() -> list[str]:
        async with atomic(read_only=True):
            await _names()
        return await _names()

    assert await in_fresh_context(read_only_then_read) == ["on-replica1"]


async def test_forcing_the_primary(cluster: Any) -> None:
    await cluster()
    assert await _names(RtItem.objects.using_primary()) == ["on-primary"]
    assert await _names(RtItem.objects.filter(id=1).using_primary()) == ["on-primary"]
    assert await RtItem.objects.using_primary().count() == 1
    locked = await RtItem.objects.select_for_update().all()
    assert [o.name for o in locked] == ["on-primary"]
    assert [o.name async for o in RtItem.objects.query().iterator()] == ["on-replica1"]
    primary_stream = RtItem.objects.using_primary().iterator()
    assert [o.name async for o in primary_stream] == ["on-primary"]
    # raw SQL may write: it runs on the primary
    assert await execute_raw("SELECT name FROM rt_item") == [{"name": "on-primary"}]


async def test_router_callable(cluster: Any, urls: dict[str, str]) -> None:
    seen: list[tuple[Any, str]] = []

    def router(model: Any, operation: str, hints: Any) -> str | None:
        seen.append((model, operation))
        assert hints["database"] == "default" and "sql" in hints
        if model is RtOther:
            return "default"  # the primary
        if model is RtItem and operation == "read":
            return "second"
        return None

    second = {"url": urls["replica2"], "name": "second"}
    await cluster(replicas=[Replica(urls["replica1"]), second], router=router)
    assert await _names() == ["on-replica2"]
    assert await _names(RtOther.objects.query()) == ["on-primary"]
    assert (RtItem, "read") in seen and (RtOther, "read") in seen

    await RtItem.objects.create(name="w")
    assert (RtItem, "write") in seen


async def test_django_style_router_class(cluster: Any, urls: dict[str, str]) -> None:
    class ReadsOfOtherOnPrimary:
        def db_for_read(self, model: Any, **hints: Any) -> str | None:
            return "default" if model is RtOther else None

        def db_for_write(self, model: Any, **hints: Any) -> str | None:
            return None

    await cluster(router=ReadsOfOtherOnPrimary)
    assert await _names(RtOther.objects.query()) == ["on-primary"]
    assert await _names() == ["on-replica1"]
    await RtOther.objects.create(name="w")


async def test_router_errors_are_clear_and_nothing_is_sent(cluster: Any) -> None:
    def bad(model: Any, operation: str, hints: Any) -> str | None:
        return "nowhere" if operation == "read" else "replica1"

    database = await cluster(router=bad, read_your_writes=None)
    with pytest.raises(RoutingError, match=r"'nowhere'.*'default', 'replica1'"):
        await _names()
    with pytest.raises(RoutingError, match=r"sent a write to replica 'replica1'.*not sent"):
        await RtItem.objects.create(name="refused")
    with pytest.raises(RoutingError):
        await RtItem.objects.filter(id=1).delete()
    rows = await database.fetch("SELECT name FROM rt_item", ())
    assert [r[0] for r in rows] == ["on-primary"]


async def test_bad_configuration_fails_at_init(urls: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="is a postgres URL but its primary is sqlite"):
        AsyncDatabase(urls["primary"], replicas=["postgresql://u@h/db"], auto_register=False)
    with pytest.raises(ValueError, match="is a mysql URL but its primary is sqlite"):
        await db.init(default={"url": urls["primary"], "replicas": ["mysql://u@h/db"]})
    with pytest.raises(ValueError, match="used twice"):
        AsyncDatabase(
            urls["primary"],
            replicas=[Replica(urls["replica1"], name="a"), Replica(urls["replica2"], name="a")],
            auto_register=False,
        )
    with pytest.raises(ValueError, match="balance"):
        AsyncDatabase(urls["primary"], replicas=[urls["replica1"]], balance="random")
    with pytest.raises(ValueError, match="max_lag"):
        Replica(urls["replica1"], max_lag=-1)
    with pytest.raises(TypeError, match="router"):
        AsyncDatabase(urls["primary"], router=42, auto_register=False)
    with pytest.raises(ValueError, match="unknown keys"):
        await db.init(default={"url": urls["primary"], "replica": [urls["replica1"]]})
    with pytest.raises(KeyError):
        lookup("default")  # nothing was registered


async def test_init_forms_and_lifespan(urls: dict[str, str]) -> None:
    databases = await db.init(default=urls["primary"])
    try:
        assert databases["default"].routing is None
        assert await _names() == ["on-primary"]
    finally:
        await db.close()
    databases = await db.init(
        default={
            "url": urls["primary"],
            "replicas": [{"url": urls["replica1"], "max_lag": 10}],
            "settings": PoolSettings(max_connections=3),
            "check_interval": 0.05,
        }
    )
    try:
        assert await _names() == ["on-replica1"]
        replica = databases["default"].routing.replicas[0]  # type: ignore[union-attr]
        assert replica.max_lag == 10
        assert replica.settings.max_connections == 3
    finally:
        await db.close()
    async with db.lifespan(default={"url": urls["primary"], "replicas": urls["replica2"]})(None):
        assert await _names() == ["on-replica2"]


async def test_round_robin_and_least_in_use(cluster: Any, urls: dict[str, str]) -> None:
    database = await cluster(replicas=[urls["replica1"], urls["replica2"]])
    seen = {tuple(await _names()) for _ in range(6)}
    assert seen == {("on-replica1",), ("on-replica2",)}
    counts = [r["queries"] for r in database.replica_stats()["replicas"]]
    assert counts == [3, 3]

    await cluster(replicas=[urls["replica1"], urls["replica2"]], balance="least_in_use")
    results = await asyncio.gather(*(_names() for _ in range(10)))
    assert {tuple(r) for r in results} <= {("on-replica1",), ("on-replica2",)}


async def test_a_replica_that_is_down_is_skipped_and_returns(
    cluster: Any, urls: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "later" / "replica.db"
    database = await cluster(replicas=[f"sqlite:///{missing}"])
    stats = database.replica_stats()
    assert stats["replicas"][0]["state"] == "down"
    assert stats["replicas"][0]["last_error"]
    assert await _names() == ["on-primary"]  # no failure: the primary answers
    assert database.replica_stats()["primary_fallbacks"] >= 1

    missing.parent.mkdir()
    await _seed(f"sqlite:///{missing}", ["on-late-replica"])
    for _ in range(100):
        if database.replica_stats()["replicas"][0]["state"] == "healthy":
            break
        await asyncio.sleep(0.05)
    assert database.replica_stats()["replicas"][0]["state"] == "healthy"
    assert await _names() == ["on-late-replica"]


def test_cli_config_takes_replicas(tmp_path: Path, backend_name: str) -> None:
    config = tmp_path / "oxyde_config.py"
    config.write_text(
        textwrap.dedent(
            """\
            MODELS = ["models"]
            DATABASES = {
                "default": {
                    "url": "postgresql://app@primary/app",
                    "replicas": ["postgresql://app@replica/app"],
                },
                "other": "sqlite:///other.db",
            }
            """
        )
    )
    loaded = load_config(config)
    assert loaded.dialect == "postgres"
    assert loaded.url("default") == "postgresql://app@primary/app"  # migrations: primary
    assert loaded.url("other") == "sqlite:///other.db"
    config.write_text(
        'MODELS = ["models"]\n'
        'DATABASES = {"default": {"url": "postgresql://p/app", "replicas": ["mysql://r/app"]}}\n'
    )
    with pytest.raises(ConfigError, match="same backend"):
        load_config(config)


async def test_replica_reads_reach_the_query_hooks(cluster: Any) -> None:
    from oxyde import events

    seen: list[Any] = []
    database = await cluster()
    with events.add_query_hook(after=seen.append):
        assert await _names() == ["on-replica1"]
    [event] = seen
    assert event.alias.endswith("/replica1") and event.alias.startswith(database.name)
    assert event.rows == 1 and event.error is None and event.backend == "sqlite"
