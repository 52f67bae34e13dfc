"""Application-level setup and teardown: ``init``, ``close``, ``connect``, ``lifespan``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from oxyde.backends.settings import PoolSettings
from oxyde.db.database import AsyncDatabase
from oxyde.db.registry import (
    disconnect_all,
    lookup,
    register_connection,
    unregister_connection,
)

__all__ = ["close", "connect", "database_from", "init", "lifespan"]


#: what ``init`` takes for one database besides its URL
_DATABASE_KEYS = (
    "url",
    "settings",
    "replicas",
    "router",
    "read_your_writes",
    "balance",
    "check_interval",
)


def database_from(
    name: str, config: str | Mapping[str, Any], settings: PoolSettings | None = None
) -> AsyncDatabase:
    """An unregistered ``AsyncDatabase`` from a URL, or from a mapping with ``url`` and
    any of ``settings``, ``replicas``, ``router``, ``read_your_writes``, ``balance``,
    ``check_interval`` (``settings`` there wins over the one given here)."""
    if isinstance(config, str):
        return AsyncDatabase(config, name=name, settings=settings, auto_register=False)
    if not isinstance(config, Mapping):
        raise TypeError(
            f"database {name!r} must be a URL or a mapping with 'url' (and 'replicas'...), "
            f"got {type(config).__name__}"
        )
    unknown = [k for k in config if k not in _DATABASE_KEYS]
    if unknown or "url" not in config:
        problem = f"unknown keys {unknown}" if unknown else "no 'url'"
        raise ValueError(f"database {name!r}: {problem}; valid keys: {', '.join(_DATABASE_KEYS)}")
    options = dict(config)
    url = options.pop("url")
    options.setdefault("settings", settings)
    return AsyncDatabase(url, name=name, auto_register=False, **options)


async def init(
    *, settings: PoolSettings | None = None, **urls: str | Mapping[str, Any]
) -> dict[str, AsyncDatabase]:
    """Connect one database per keyword (``default=URL, analytics=URL``) and register
    them under those names, replacing (and closing) databases already registered
    there. If one fails to connect, the ones this call opened are closed again.

    A database with read replicas takes a mapping instead of a URL:
    ``default={"url": URL, "replicas": [URL2, URL3]}`` (see ``database_from``)."""
    if not urls:
        raise ValueError("db.init() needs at least one database, e.g. db.init(default=URL)")
    # Parse every URL before opening anything, so a typo fails fast.
    databases = {name: database_from(name, url, settings) for name, url in urls.items()}
    opened: list[AsyncDatabase] = []
    try:
        for database in databases.values():
            await database.connect()
            opened.append(database)
    except BaseException:
        for database in opened:
            await database.disconnect()
        raise
    for name, database in databases.items():
        try:
            previous = lookup(name)
        except KeyError:
            previous = None
        if previous is not None and previous is not database:
            await previous.disconnect()
        register_connection(database, overwrite=True)
    return databases


async def close() -> None:
    """Close every registered database, rolling back open transactions."""
    await disconnect_all()


@asynccontextmanager
async def connect(
    url: str, *, name: str = "default", settings: PoolSettings | None = None
) -> AsyncIterator[AsyncDatabase]:
    """``async with db.connect(URL) as database:`` a registered, connected database for
    the duration of the block (closed and unregistered afterwards)."""
    database = AsyncDatabase(url, name=name, settings=settings)
    try:
        await database.connect()
        yield database
    finally:
        try:
            await database.disconnect()
        finally:
            try:
                if lookup(name) is database:
                    unregister_connection(name)
            except KeyError:
                pass


def lifespan(
    *, settings: PoolSettings | None = None, **urls: str | Mapping[str, Any]
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI/Starlette ``lifespan=``: ``init(**urls)`` at startup, and at shutdown
    close the databases it opened (and only those, so it nests inside an application's
    own lifespan: ``async with db.lifespan(default=URL)(app): yield``)."""
    if not urls:
        raise ValueError("db.lifespan() needs at least one database, e.g. default=URL")

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        databases = await init(settings=settings, **urls)
        try:
            yield
        finally:
            for name, database in databases.items():
                try:
                    await database.disconnect()
                finally:
                    try:
                        if lookup(name) is database:
                            unregister_connection(name)
                    except KeyError:
                        pass

    return run
