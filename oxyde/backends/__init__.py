"""Backend lookup: the module implementing each backend, imported only when first used.

Importing oxyde never imports a database driver; ``backend_class`` does, the first time
a database of that kind connects. Every backend module exposes one class constructed
as ``cls(url, settings, *, name)`` (a ``DatabaseURL`` from ``url.py``, the
``PoolSettings`` of ``settings.py`` and the database's alias, used in error messages)
that implements ``oxyde.backends.base.Backend``.

Layer: above ``oxyde.sql`` (a backend answers with its ``Dialect``); it may import
``oxyde.sql``, ``oxyde.meta``, ``oxyde._impl`` and its helpers, and ``oxyde.exceptions``,
never ``oxyde.db`` or anything above. The only layer that imports a database driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple, Protocol

from oxyde.backends.url import SCHEMES

if TYPE_CHECKING:
    from oxyde.backends.base import Backend
    from oxyde.backends.settings import PoolSettings
    from oxyde.backends.url import DatabaseURL

__all__ = ["BACKENDS", "BackendFactory", "backend_class"]


class BackendFactory(Protocol):
    def __call__(self, url: DatabaseURL, settings: PoolSettings, *, name: str) -> Backend: ...


class _Entry(NamedTuple):
    module: str
    cls: str
    #: top-level name of the driver package the module imports
    driver: str
    #: what provides the driver: an extra (``pip install 'oxyde-cy[extra]'``), or None for
    #: a driver oxyde always installs (a missing one means a broken installation)
    extra: str | None


BACKENDS: dict[str, _Entry] = {
    "sqlite": _Entry("oxyde.backends.sqlite", "SQLiteBackend", "apsw", None),
    "postgres": _Entry("oxyde.backends.postgres", "PostgresBackend", "psycopg", "postgres"),
    "mysql": _Entry("oxyde.backends.mysql", "MySQLBackend", "MySQLdb", "mysql"),
}


def backend_class(name: str) -> BackendFactory:
    """The backend class for a backend name ("postgres", "mysql", "sqlite") or a URL
    scheme ("postgresql", "mariadb"...). ``ImportError`` names the extra to install
    when the driver is missing."""
    key = SCHEMES.get(name.lower(), name.lower())
    entry = BACKENDS.get(key)
    if entry is None:
        raise ValueError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing == entry.driver.partition(".")[0]:
            install = (
                f"pip install {entry.driver}"
                if entry.extra is None
                else f"pip install 'oxyde-cy[{entry.extra}]'"
            )
            raise ImportError(
                f"the {key} backend needs the {entry.driver!r} driver: {install}"
            ) from exc
        if exc.name == entry.module:
            raise ImportError(f"the {key} backend is not available in this build") from exc
        raise
    factory: BackendFactory = getattr(module, entry.cls)
    return factory
