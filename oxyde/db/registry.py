"""The connection registry: databases by alias, and the lookup every query makes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from oxyde.exceptions import OperationalError

if TYPE_CHECKING:
    from oxyde.db.database import AsyncDatabase

__all__ = [
    "DatabaseNotFoundError",
    "disconnect_all",
    "get_connection",
    "lookup",
    "register_connection",
    "registered_connections",
    "unregister_connection",
]

_databases: dict[str, AsyncDatabase] = {}


class DatabaseNotFoundError(OperationalError, KeyError):
    """No database is registered under an alias. Both an ``OperationalError`` (what
    queries raise) and a ``KeyError`` (what ``get_connection`` promises)."""

    def __str__(self) -> str:
        # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


def _missing(name: str) -> DatabaseNotFoundError:
    known = ", ".join(repr(n) for n in _databases) or "none"
    return DatabaseNotFoundError(
        f"no database {name!r} (registered: {known}); "
        f"call `await db.init({name}=URL)` or create an AsyncDatabase named {name!r}"
    )


def register_connection(database: AsyncDatabase, *, overwrite: bool = False) -> AsyncDatabase:
    """Make ``database`` reachable as ``using=database.name``."""
    current = _databases.get(database.name)
    if current is not None and current is not database and not overwrite:
        raise ValueError(
            f"a database named {database.name!r} is already registered; "
            "pass overwrite=True to replace it"
        )
    _databases[database.name] = database
    return database


def unregister_connection(name: str) -> AsyncDatabase | None:
    """Forget the database registered as ``name`` (it is not closed)."""
    return _databases.pop(name, None)


def lookup(name: str = "default") -> AsyncDatabase:
    """The database registered as ``name``, without connecting it (the sync fast path
    of every query)."""
    try:
        return _databases[name]
    except KeyError:
        raise _missing(name) from None


def registered_connections() -> dict[str, AsyncDatabase]:
    """A copy of the registry."""
    return dict(_databases)


async def get_connection(name: str = "default", *, ensure_connected: bool = True) -> AsyncDatabase:
    """The database registered as ``name``, connected unless ``ensure_connected=False``.
    ``KeyError`` lists the registered aliases."""
    database = lookup(name)
    if ensure_connected and not database.connected:
        await database.connect()
    return database


async def disconnect_all() -> None:
    """Close every registered database (rolling back open transactions) and empty the
    registry."""
    databases = list(_databases.values())
    _databases.clear()
    results = await asyncio.gather(*(d.disconnect() for d in databases), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
