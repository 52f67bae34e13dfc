"""The migration lock: one ``migrate`` at a time per database (PostgreSQL, MySQL).

The lock is a session lock (PostgreSQL advisory lock, MySQL ``GET_LOCK``) taken on the
connection the whole run uses, so it also goes away if that process dies. SQLite needs
none: each migration runs in a ``BEGIN IMMEDIATE`` transaction that re-checks the
history first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from oxyde.backends.base import Executor
from oxyde.migrations.alter import alter_ddl
from oxyde.migrations.errors import MigrationLockError

__all__ = ["migration_lock"]

_POLL = 0.2


@asynccontextmanager
async def migration_lock(connection: Executor, *, wait: float = 60.0) -> AsyncIterator[None]:
    """Hold the migration lock on ``connection``; wait up to ``wait`` seconds for
    another holder, then raise ``MigrationLockError``."""
    ddl = alter_ddl(connection.dialect)
    if ddl.lock_sql is None or ddl.unlock_sql is None:
        yield
        return
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        rows = await connection.fetch(ddl.lock_sql, ())
        if rows and rows[0][0]:
            break
        if time.monotonic() >= deadline:
            raise MigrationLockError(
                f"another process is migrating this database (waited {wait:g}s for the "
                "migration lock); try again when it has finished"
            )
        await asyncio.sleep(_POLL)
    try:
        yield
    finally:
        # A failed unlock is not worth masking the run's outcome: the lock ends with
        # the session in any case.
        with contextlib.suppress(Exception):
            await asyncio.shield(connection.fetch(ddl.unlock_sql, ()))
