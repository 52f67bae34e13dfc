"""Transactions on every backend: isolation levels, read-only, ``on_commit``, row locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from oxyde import Field, Model, OxydeError, atomic, execute_raw
from oxyde.db import on_commit
from oxyde.db import transaction as transaction_module


class TmAccount(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=50)
    balance: int = 0

    class Meta:
        is_table = True
        table_name = "tm_account"


@pytest.fixture
async def accounts(database: Any, model_tables: Any) -> AsyncIterator[list[TmAccount]]:
    await model_tables(TmAccount)
    yield await TmAccount.objects.bulk_create(
        [TmAccount(name=n, balance=b) for n, b in (("a", 10), ("b", 20), ("c", 30))]
    )


# -- isolation and read-only ---------------------------------------------------------------


async def _level(backend: str, tx: Any) -> str | None:
    """The isolation level of the transaction ``tx`` runs in, as the server reports it."""
    if backend == "postgres":
        rows = await execute_raw("SELECT current_setting('transaction_isolation') AS l", client=tx)
        return str(rows[0]["l"]).upper()
    if backend == "mysql":
        # InnoDB lists a transaction once it holds a lock
        await TmAccount.objects.filter(name="a").select_for_update().all(client=tx)
        # the server refreshes that table's cache at most every 0.1 s
        await asyncio.sleep(0.15)
        rows = await execute_raw(
            "SELECT trx_isolation_level AS l FROM information_schema.innodb_trx "
            "WHERE trx_mysql_thread_id = CONNECTION_ID()",
            client=tx,
        )
        return str(rows[0]["l"]).upper()
    return None


@pytest.mark.parametrize("level", ["read committed", "repeatable read", "serializable"])
async def test_isolation_level_is_applied(
    accounts: list[TmAccount], backend_name: str, level: str
) -> None:
    async with atomic(isolation=level) as tx:
        reported = await _level(backend_name, tx)
        assert await TmAccount.objects.count(client=tx) == 3
    if backend_name == "sqlite":
        # SQLite transactions are serializable, which every level's guarantees allow
        assert reported is None
    else:
        assert reported == level.upper()


async def test_repeatable_read_keeps_its_snapshot(
    accounts: list[TmAccount], backend_name: str
) -> None:
    async def bump(value: int) -> None:
        # another task: not in the transaction, so on another connection
        await TmAccount.objects.filter(name="a").update(balance=value)

    # read-only, so that SQLite's reader does not exclude the other task's write
    async with atomic(isolation="repeatable read", read_only=True) as tx:
        assert (await TmAccount.objects.get(name="a", client=tx)).balance == 10
        await asyncio.create_task(bump(11))
        assert (await TmAccount.objects.get(name="a", client=tx)).balance == 10
    assert (await TmAccount.objects.get(name="a")).balance == 11
    if backend_name == "sqlite":
        return  # every SQLite transaction is serializable: no weaker level to observe
    async with atomic(isolation="read committed") as tx:
        assert (await TmAccount.objects.get(name="a", client=tx)).balance == 11
        await asyncio.create_task(bump(12))
        assert (await TmAccount.objects.get(name="a", client=tx)).balance == 12


async def test_read_only_transactions_refuse_writes(accounts: list[TmAccount]) -> None:
    async with atomic(read_only=True) as tx:
        assert await TmAccount.objects.count(client=tx) == 3
    with pytest.raises(OxydeError):
        async with atomic(read_only=True) as tx:
            await TmAccount.objects.filter(name="a").update(balance=0, client=tx)
    assert (await TmAccount.objects.get(name="a")).balance == 10
    # the connection went back clean: a normal transaction can write
    async with atomic() as tx:
        await TmAccount.objects.filter(name="a").update(balance=1, client=tx)
    assert (await TmAccount.objects.get(name="a")).balance == 1


async def test_bad_isolation_fails_clearly(accounts: list[TmAccount], database: Any) -> None:
    with pytest.raises(ValueError, match="isolation level"):
        async with atomic(isolation="chaos"):
            pass
    async with atomic():
        with pytest.raises(OxydeError, match="outermost"):
            async with atomic(isolation="serializable"):
                pass
    assert database.stats().get("in_use", 0) == 0


# -- on_commit -------------------------------------------------------------------------------


async def test_on_commit_runs_after_the_outermost_commit(accounts: list[TmAccount]) -> None:
    assert transaction_module.on_commit is on_commit
    ran: list[Any] = []

    async def async_cb() -> None:
        # runs after COMMIT, outside the finished transaction: the write is visible
        ran.append(("async", (await TmAccount.objects.get(name="a")).balance))

    async with atomic():
        await TmAccount.objects.filter(name="a").update(balance=99)
        on_commit(lambda: ran.append("sync"))
        async with atomic():
            on_commit(async_cb)
        async with atomic() as inner:
            inner.on_commit(lambda: ran.append("inner"))
        assert ran == []
    assert ran == ["sync", ("async", 99), "inner"]


async def test_on_commit_is_discarded_on_rollback(accounts: list[TmAccount]) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError):
        async with atomic():
            on_commit(lambda: ran.append("outer"))
            raise RuntimeError("boom")
    async with atomic() as tx:
        on_commit(lambda: ran.append("rolled back"))
        tx.set_rollback(True)
    async with atomic():
        on_commit(lambda: ran.append("kept"))
        with pytest.raises(RuntimeError):
            async with atomic():
                on_commit(lambda: ran.append("savepoint rolled back"))
                async with atomic():
                    on_commit(lambda: ran.append("nested in it"))
                raise RuntimeError("inner")
        async with atomic() as sp:
            on_commit(lambda: ran.append("set_rollback savepoint"))
            sp.set_rollback(True)
        async with atomic():
            on_commit(lambda: ran.append("released savepoint"))
    assert ran == ["kept", "released savepoint"]


async def test_on_commit_outside_a_transaction_runs_now(accounts: list[TmAccount]) -> None:
    ran: list[str] = []
    on_commit(lambda: ran.append("now"))
    assert ran == ["now"]
    done = asyncio.Event()

    async def later() -> None:
        done.set()

    on_commit(later)
    await asyncio.wait_for(done.wait(), 5)
    with pytest.raises(TypeError):
        on_commit(42)  # type: ignore[arg-type]


async def test_a_failing_on_commit_callback_raises_after_commit(
    accounts: list[TmAccount],
) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise LookupError("callback")

    with pytest.raises(LookupError):
        async with atomic():
            await TmAccount.objects.filter(name="b").update(balance=0)
            on_commit(fail)
            on_commit(lambda: ran.append("next"))
    assert ran == ["next"]
    assert (await TmAccount.objects.get(name="b")).balance == 0


# -- row locks -------------------------------------------------------------------------------


async def _in_other_task(query: Any, **kwargs: Any) -> list[str]:
    """Run ``query`` in a transaction of another task (another connection)."""

    async def run() -> list[str]:
        async with atomic() as tx:
            return [a.name for a in await query.order_by("id").all(client=tx)]

    return await asyncio.create_task(run())


async def test_select_for_update_locks_rows(accounts: list[TmAccount], backend_name: str) -> None:
    if backend_name == "sqlite":
        # documented no-op: SQLite locks the whole database for a writer
        sql, _ = TmAccount.objects.select_for_update(nowait=True).sql("sqlite")
        assert "FOR UPDATE" not in sql
        async with atomic() as tx:
            locked = await TmAccount.objects.select_for_update(skip_locked=True).all(client=tx)
        assert len(locked) == 3
        return
    a, b, _ = accounts
    # by primary key: InnoDB locks every row a locking read scans
    async with atomic() as tx:
        held = await TmAccount.objects.filter(id=a.id).select_for_update().all(client=tx)
        assert [x.name for x in held] == ["a"]
        # another connection skips the locked row, or fails at once with nowait
        others = await _in_other_task(TmAccount.objects.select_for_update(skip_locked=True))
        assert others == ["b", "c"]
        with pytest.raises(OxydeError):
            await _in_other_task(TmAccount.objects.filter(id=a.id).select_for_update(nowait=True))
        # unlocked rows can be locked by the other connection meanwhile
        assert await _in_other_task(
            TmAccount.objects.filter(id=b.id).select_for_update(nowait=True)
        ) == ["b"]
    # released at commit
    assert await _in_other_task(
        TmAccount.objects.filter(id=a.id).select_for_update(nowait=True)
    ) == ["a"]


async def test_select_for_update_of_self(accounts: list[TmAccount], backend_name: str) -> None:
    query = TmAccount.objects.filter(balance__gte=20).select_for_update(of=("self",))
    async with atomic() as tx:
        assert [a.name for a in await query.order_by("id").all(client=tx)] == ["b", "c"]
    sql, _ = query.sql("postgres")
    assert sql.endswith('FOR UPDATE OF "tm_account"')
    with pytest.raises(OxydeError, match="neither 'self' nor a joined relation"):
        TmAccount.objects.select_for_update(of=("nope",))
    with pytest.raises(ValueError, match="cannot be combined"):
        TmAccount.objects.select_for_update(nowait=True, skip_locked=True)
