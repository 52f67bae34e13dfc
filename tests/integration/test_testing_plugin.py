"""The ``oxyde.testing`` pytest plugin, run in a pytest of its own (pytester) on every
backend: each test's writes, from any of its tasks, are rolled back when it ends."""

from __future__ import annotations

from typing import Any

import pytest

MODELS = """
from oxyde import Field, Model


class Note(Model):
    id: int | None = Field(default=None, db_pk=True)
    body: str = Field(max_length=50)

    class Meta:
        is_table = True
        table_name = "plugin_note"
"""

TESTS = """
import asyncio

import pytest

from oxyde import atomic
from oxyde.db import AsyncDatabase
from notes import Note


async def test_writes_from_several_tasks(oxyde_transaction, oxyde_url):
    await Note.objects.create(body="test")

    async def child(i):
        await Note.objects.create(body=f"task {i}")

    await asyncio.gather(*(asyncio.create_task(child(i)) for i in range(3)))
    assert await Note.objects.count() == 4
    # another connection does not see them: nothing was committed
    other = AsyncDatabase(oxyde_url, name="other", auto_register=False)
    async with other:
        rows = await other.fetch("SELECT COUNT(*) FROM plugin_note", [])
    assert rows[0][0] == 0


async def test_the_previous_test_left_nothing(oxyde_transaction):
    assert await Note.objects.count() == 0


async def test_atomic_inside_is_a_savepoint(oxyde_transaction):
    with pytest.raises(RuntimeError):
        async with atomic():
            await Note.objects.create(body="undone")
            raise RuntimeError("roll this block back")
    async with atomic():
        await Note.objects.create(body="kept")
    assert [note.body for note in await Note.objects.all()] == ["kept"]


async def test_a_failed_statement_leaves_the_transaction_usable(oxyde_transaction):
    from oxyde.exceptions import UniqueViolationError

    await Note.objects.create(id=1, body="first")
    with pytest.raises(UniqueViolationError):
        await Note.objects.create(id=1, body="again")
    assert [note.body for note in await Note.objects.all()] == ["first"]


async def test_fixture_started_elsewhere(oxyde_transaction, note):
    assert await Note.objects.filter(body="from a fixture").count() == 1
"""

CONFTEST = """
import pytest_asyncio

from notes import Note


@pytest_asyncio.fixture
async def note(oxyde_transaction):
    return await Note.objects.create(body="from a fixture")
"""

INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
oxyde_models = notes
"""


def write_project(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(notes=MODELS, test_notes=TESTS, conftest=CONFTEST)
    pytester.syspathinsert()


async def test_each_test_is_rolled_back(
    pytester: pytest.Pytester, database: Any, database_url: str
) -> None:
    # ``database`` only proves the backend is reachable (or skips / fails as configured)
    write_project(pytester)
    result = pytester.runpytest_subprocess("--oxyde-url", database_url, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    if database.backend_name != "sqlite":  # the session dropped its tables at the end
        tables = "SELECT 1 FROM information_schema.tables WHERE table_name = 'plugin_note'"
        assert await database.fetch(tables, []) == []


@pytest.mark.sqlite
def test_default_url_is_a_temporary_sqlite_file(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "previous or tasks")
    result.assert_outcomes(passed=2)


@pytest.mark.sqlite
def test_in_memory_sqlite_is_refused(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess(
        "--oxyde-url", "sqlite::memory:", "-p", "no:cacheprovider", "-k", "previous"
    )
    result.stdout.fnmatch_lines(["*in-memory SQLite database*use a file*"])
    assert result.ret != 0
