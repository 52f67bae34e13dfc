"""``oxyde.testing``: the pytest plugin (entry point ``pytest11``) that gives each test a
database transaction rolled back when the test ends.

Fixtures (all async ones need pytest-asyncio):

- ``oxyde_url``: the test database URL: ``--oxyde-url``, else ``$OXYDE_TEST_URL``, else
  the ``oxyde_url`` ini option, else a SQLite file in the session's temporary directory.
- ``oxyde_tables`` (session): imports the ``oxyde_models`` modules (ini option), creates
  every registered table once for the session and drops them when it ends.
- ``oxyde_database``: a connected ``AsyncDatabase`` registered as ``oxyde_alias`` (ini
  option, default ``"default"``) on ``oxyde_url`` for one test, tables created.
- ``oxyde_transaction``: a transaction on ``oxyde_database`` that every task of the test
  uses (the test, its fixtures, the tasks they start, an app served in-process) and that
  is rolled back at the end of the test, so nothing it wrote is seen by the next one.

Ownership stays strict for application code: a transaction belongs to the task that
opened it. The per-test one is shared on purpose, through
``oxyde.db.transaction.share_transaction``, because pytest-asyncio sets fixtures up, runs
the test and tears fixtures down in different tasks.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from oxyde.db.database import AsyncDatabase
    from oxyde.db.transaction import Transaction

__all__ = ["oxyde_tables", "oxyde_url", "run_in_fresh_loop"]

T = TypeVar("T")

URL_ENV = "OXYDE_TEST_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oxyde", "oxyde database fixtures")
    group.addoption(
        "--oxyde-url",
        dest="oxyde_url",
        default=None,
        help=f"database URL for the oxyde fixtures (else ${URL_ENV}, else the oxyde_url ini "
        "option, else a temporary SQLite file)",
    )
    parser.addini("oxyde_url", "database URL for the oxyde fixtures", default="")
    parser.addini(
        "oxyde_models",
        "modules to import before creating tables (they define the table models)",
        type="args",
        default=[],
    )
    parser.addini("oxyde_alias", "database alias the fixtures register", default="default")


def run_in_fresh_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a new event loop in a thread of its own, so the
    test session's loop (and its policy's current loop) are left untouched."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="oxyde-testing")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _check_url(url: str) -> str:
    from oxyde.backends.url import parse_url

    if url.lower().startswith("sqlite") and ":memory:" in url:
        raise pytest.UsageError(
            f"oxyde_url {url!r}: an in-memory SQLite database lives and dies with one "
            "connection, so tables created for the session would not be seen by the tests; "
            "use a file (the default is a temporary one)"
        )
    parse_url(url)  # a malformed URL fails here, with its own message
    return url


@pytest.fixture(scope="session")
def oxyde_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the test database."""
    config = request.config
    url = config.getoption("oxyde_url") or os.environ.get(URL_ENV) or config.getini("oxyde_url")
    if not url:
        folder = tmp_path_factory.mktemp("oxyde")
        url = f"sqlite:///{folder / 'test.db'}"
    return _check_url(str(url))


def _alias(request: pytest.FixtureRequest) -> str:
    alias = str(request.config.getini("oxyde_alias")).strip() or "default"
    return alias


@pytest.fixture(scope="session")
def oxyde_tables(request: pytest.FixtureRequest, oxyde_url: str) -> Iterator[None]:
    """Create every registered table once per session (dropped at its end)."""
    from oxyde.db import AsyncDatabase, create_tables, drop_tables

    for module in request.config.getini("oxyde_models"):
        importlib.import_module(module)

    async def run(action: Callable[[AsyncDatabase], Coroutine[Any, Any, None]]) -> None:
        database = AsyncDatabase(oxyde_url, name="oxyde-testing-schema", auto_register=False)
        async with database:
            await action(database)

    run_in_fresh_loop(lambda: run(drop_tables))
    run_in_fresh_loop(lambda: run(create_tables))
    yield
    run_in_fresh_loop(lambda: run(drop_tables))


try:
    import pytest_asyncio
except ImportError:  # the async fixtures need it; the sync ones work without
    pass
else:

    @pytest_asyncio.fixture
    async def oxyde_database(
        request: pytest.FixtureRequest, oxyde_url: str, oxyde_tables: None
    ) -> AsyncIterator[AsyncDatabase]:
        """A connected database for one test, registered under the ``oxyde_alias``."""
        from oxyde.db import AsyncDatabase
        from oxyde.db.registry import lookup, unregister_connection

        database = AsyncDatabase(oxyde_url, name=_alias(request), overwrite=True)
        await database.connect()
        try:
            yield database
        finally:
            await database.disconnect()
            try:
                if lookup(database.name) is database:
                    unregister_connection(database.name)
            except KeyError:
                pass

    @pytest_asyncio.fixture
    async def oxyde_transaction(oxyde_database: AsyncDatabase) -> AsyncIterator[Transaction]:
        """A transaction every task of the test uses, rolled back when the test ends."""
        from oxyde.db.transaction import end_shared_transaction, share_transaction

        tx = await share_transaction(oxyde_database)
        try:
            yield tx
        finally:
            await end_shared_transaction(tx)
