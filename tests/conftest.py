"""Fixtures shared by every test: which backends run, a connected database per backend,
and a helper that creates and drops the tables of a list of models.

Backends: ``OXYDE_TEST_BACKENDS`` (comma list; default every backend whose module exists
in ``oxyde/backends/``), read with ``OXYDE_TEST_REQUIRE`` in ``tests/support/backends.py``.
A test runs on a backend through the ``backend_name`` parameter, or, in a module for one
backend, through that backend's marker; either way a backend left out is skipped.
Servers: ``OXYDE_TEST_POSTGRES_URL`` and ``OXYDE_TEST_MYSQL_URL``. SQLite runs on a file in
the test's ``tmp_path`` (WAL needs a file). A backend that cannot be reached skips its
tests, unless it is named in ``OXYDE_TEST_REQUIRE`` (as in CI): then they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.backends import (
    ALL_BACKENDS,
    required_backends,
    selected_backends,
    unreachable,
)

# CI runs the same examples every time: a red run is reproducible, a green one not luck
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

DEFAULT_URLS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
URL_ENV = {"postgres": "OXYDE_TEST_POSTGRES_URL", "mysql": "OXYDE_TEST_MYSQL_URL"}
# Directories whose tests run against a database and get their backend's marker.
DATABASE_TEST_DIRS = ("integration", "reliability", "compat")

enabled_backends = selected_backends


def backend_url(backend: str, tmp_path: Path) -> str:
    """The URL a test uses for ``backend``."""
    if backend == "sqlite":
        # Everything after sqlite:// is the path: tmp_path is absolute.
        return f"sqlite://{tmp_path / 'test.db'}"
    return os.environ.get(URL_ENV[backend], DEFAULT_URLS[backend])


#: backend -> why it could not be reached, so later tests skip without waiting again
_unreachable: dict[str, str] = {}


def backend_unavailable(backend: str, reason: object) -> None:
    """Skip the test, or fail it when the backend is required."""
    _unreachable.setdefault(backend, str(reason))
    unreachable(backend, f"{backend} backend unavailable: {_unreachable[backend]}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    try:
        from oxyde import _impl

        lines.append(f"oxyde implementation: {_impl.impl}")
    except Exception as exc:  # the header must never break the run
        lines.append(f"oxyde implementation: unavailable ({exc})")
    try:
        import apsw

        lines.append(f"apsw {apsw.apsw_version()}, SQLite {apsw.sqlite_lib_version()}")
    except ImportError:
        lines.append("apsw: not installed")
    required = ", ".join(sorted(required_backends())) or "none"
    lines.append(f"backends: {', '.join(enabled_backends())} (required: {required})")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test may pin its backends with @pytest.mark.parametrize("backend_name", [...]).
    if "backend_name" in metafunc.fixturenames and not any(
        "backend_name" in mark.args[0]
        for mark in metafunc.definition.iter_markers("parametrize")
        if mark.args
    ):
        metafunc.parametrize("backend_name", enabled_backends())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    enabled = set(enabled_backends())
    # Wall-clock checks are flaky on a shared machine: they run only when asked for.
    timing_selected = bool(os.environ.get("OXYDE_TIMING")) or "timing" in (
        config.getoption("markexpr", "") or ""
    )
    for item in items:
        if not timing_selected and item.get_closest_marker("timing") is not None:
            item.add_marker(pytest.mark.skip(reason="a timing check: select it with -m timing"))
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend_name") if callspec is not None else None
        if backend is not None:
            parts = Path(str(item.fspath)).parts
            if any(d in parts for d in DATABASE_TEST_DIRS):
                item.add_marker(getattr(pytest.mark, backend))
            left_out = {backend} - enabled
        else:
            # a module for one backend says so with its marker (pytestmark)
            left_out = {m.name for m in item.iter_markers()} & set(ALL_BACKENDS) - enabled
        if left_out:
            reason = f"{min(left_out)} is not in OXYDE_TEST_BACKENDS"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def database_url(backend_name: str, tmp_path: Path) -> str:
    return backend_url(backend_name, tmp_path)


DatabaseFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def make_database(backend_name: str, database_url: str) -> AsyncIterator[DatabaseFactory]:
    """``await make_database(settings=None, name="default", url=None)``: a connected,
    registered ``AsyncDatabase`` on the test's backend, closed after the test."""
    from oxyde.db import AsyncDatabase
    from oxyde.db.registry import lookup, unregister_connection
    from oxyde.exceptions import OperationalError

    made: list[Any] = []
    if backend_name in _unreachable:
        backend_unavailable(backend_name, _unreachable[backend_name])

    async def make(settings: Any = None, *, name: str = "default", url: str | None = None) -> Any:
        database = AsyncDatabase(url or database_url, name=name, settings=settings, overwrite=True)
        made.append(database)
        try:
            await database.connect()
        except (OperationalError, ImportError) as exc:
            backend_unavailable(backend_name, exc)
        return database

    yield make
    for database in reversed(made):
        await database.disconnect()
        try:
            if lookup(database.name) is database:
                unregister_connection(database.name)
        except KeyError:
            pass


@pytest.fixture
async def database(make_database: DatabaseFactory) -> Any:
    """A connected ``AsyncDatabase`` registered as "default" on the test's backend."""
    return await make_database()


@pytest.fixture
async def model_tables(database: Any) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """``await model_tables(ModelA, ModelB)``: (re)create those models' tables on
    ``database``; they are dropped after the test."""
    from oxyde.db import create_tables, drop_tables

    created: list[Any] = []

    async def make(*models: Any) -> None:
        await drop_tables(database, models=models)
        await create_tables(database, models=models)
        created.extend(models)

    yield make
    if created and database.connected:
        await drop_tables(database, models=created)
