"""``create_tables`` / ``drop_tables``: the registered models' tables, without migrations.

Tables are created parents first (foreign-key dependency order) and dropped children
first, all on one pinned write connection. Creating is idempotent: ``IF NOT EXISTS``
for the tables, and the separate foreign-key statements (where a dialect adds them with
``ALTER TABLE``) only for tables this call created. Which tables exist is probed with
a ``SELECT`` that returns no rows, which every backend understands. For foreign keys
that would block a drop (reference cycles), dialects that cascade drop with
``CASCADE``; where the connection announces ``capabilities.foreign_key_suspension``
(SQLite), enforcement is suspended on it for the drops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from oxyde.backends.base import Connection, Executor, can_suspend_foreign_keys
from oxyde.db.transaction import Transaction, current_transaction_of
from oxyde.exceptions import OxydeError
from oxyde.meta.registry import get_meta, registered_tables
from oxyde.sql.ddl import create_table_statements, drop_table_statements, foreign_key_statements

if TYPE_CHECKING:
    from oxyde.db.database import AsyncDatabase
    from oxyde.meta.metadata import ModelMeta

__all__ = ["create_tables", "drop_tables"]


async def create_tables(
    database: AsyncDatabase | str | None = None, *, models: Iterable[type[Any]] | None = None
) -> None:
    """Create the tables of every registered table model (or of ``models``)."""
    db = await _database(database)
    metas = _ordered(_metas(models))
    dialect = db.dialect
    async with _session(db) as (ex, _conn):
        missing = [meta for meta in metas if not await _exists(ex, meta)]
        for meta in metas:
            for sql in create_table_statements(meta, dialect, if_not_exists=True):
                await ex.execute(dialect.driver_text(sql), ())
        for meta in missing:
            for sql in foreign_key_statements(meta, dialect):
                await ex.execute(dialect.driver_text(sql), ())


async def drop_tables(
    database: AsyncDatabase | str | None = None, *, models: Iterable[type[Any]] | None = None
) -> None:
    """Drop the tables of every registered table model (or of ``models``), children
    first; tables that do not exist are skipped."""
    db = await _database(database)
    metas = list(reversed(_ordered(_metas(models))))
    dialect = db.dialect
    async with _session(db) as (ex, conn):
        guard: AbstractAsyncContextManager[None] = (
            conn.foreign_keys_disabled()
            if conn is not None and can_suspend_foreign_keys(conn)
            else _nothing()
        )
        async with guard:
            for meta in metas:
                for sql in drop_table_statements(meta, dialect, if_exists=True):
                    await ex.execute(dialect.driver_text(sql), ())


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


async def _database(database: AsyncDatabase | str | None) -> AsyncDatabase:
    from oxyde.db.registry import get_connection

    if database is None or isinstance(database, str):
        return await get_connection(database or "default")
    if not database.connected:
        await database.connect()
    return database


@asynccontextmanager
async def _session(db: AsyncDatabase) -> AsyncIterator[tuple[Executor, Connection | None]]:
    """The calling task's transaction, else one borrowed write connection."""
    tx = current_transaction_of(db)
    if tx is not None:
        yield tx, None
        return
    async with db.connection(write=True) as conn:
        yield conn, conn


def _metas(models: Iterable[type[Any]] | None) -> list[ModelMeta]:
    classes = list(registered_tables().values()) if models is None else list(models)
    # Models sharing a table (a variant per database) make it once: the last one
    # registered describes it, as in the migrations' snapshot.
    by_table: dict[tuple[str | None, str], ModelMeta] = {}
    for model in classes:
        meta = get_meta(model)
        by_table[(meta.schema, meta.table_name)] = meta
    return list(by_table.values())


def _ordered(metas: list[ModelMeta]) -> list[ModelMeta]:
    """Parents before children; reference cycles keep registration order."""
    by_model = {meta.model: meta for meta in metas}
    done: list[ModelMeta] = []
    seen: set[int] = set()
    visiting: set[int] = set()

    def visit(meta: ModelMeta) -> None:
        key = id(meta)
        if key in seen or key in visiting:
            return
        visiting.add(key)
        for fk in meta.foreign_keys.values():
            target = fk.target
            parent = by_model.get(target)
            if parent is None and isinstance(target, type) and target in by_model:
                parent = get_meta(target)
            if parent is not None and parent is not meta:
                visit(parent)
        visiting.discard(key)
        seen.add(key)
        done.append(meta)

    for meta in metas:
        visit(meta)
    return done


async def _exists(ex: Executor, meta: ModelMeta) -> bool:
    q = ex.dialect.quote_ident
    table = q(meta.table_name) if not meta.schema else f"{q(meta.schema)}.{q(meta.table_name)}"
    sql = ex.dialect.driver_text(f"SELECT 1 FROM {table} WHERE 1 = 0")
    try:
        if isinstance(ex, Transaction):
            # A failed statement would poison a PostgreSQL transaction: probe in a
            # savepoint.
            async with ex.atomic_block():
                await ex.fetch(sql, ())
        else:
            await ex.fetch(sql, ())
    except OxydeError:
        return False
    return True
