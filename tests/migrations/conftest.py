"""Fixtures of the migration tests: an isolated model registry and a database whose
``mg_*`` tables, enum types and migration records are removed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from oxyde.meta.registry import register_table, registered_tables, unregister_table

HERE = Path(__file__).resolve().parent

#: tables and enum types the migration tests create (names unique to these tests)
TABLES = (
    "mg_comment",
    "mg_post",
    "mg_author",
    "mg_writer",
    "mg_tag",
    "mg_node",
    "mg_a",
    "mg_b",
    "mg_slow",
)
ENUMS = ("mg_state_enum", "mg_kind_enum", "mg_post_state_enum")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests here that run on a database carry their backend's marker, like integration tests.
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend_name") if callspec is not None else None
        if backend is not None:
            item.add_marker(getattr(pytest.mark, backend))


@pytest.fixture
def isolated_registry() -> Iterator[None]:
    """Models a test defines are unregistered afterwards; others are left as they were."""
    before = dict(registered_tables())
    yield
    for key, model in registered_tables().items():
        if before.get(key) is not model:
            unregister_table(model)
    current = registered_tables()
    for key, model in before.items():
        if key not in current:
            register_table(model)


async def drop_test_schema(database: Any) -> None:
    from oxyde.queries import execute_raw

    name = database.dialect.name
    q = database.dialect.quote_ident
    cascade = " CASCADE" if name == "postgres" else ""
    if name == "mysql":
        await execute_raw("SET FOREIGN_KEY_CHECKS=0", client=database)
    try:
        for table in (*TABLES, "oxyde_migrations"):
            await execute_raw(f"DROP TABLE IF EXISTS {q(table)}{cascade}", client=database)
    finally:
        if name == "mysql":
            await execute_raw("SET FOREIGN_KEY_CHECKS=1", client=database)
    if name == "postgres":
        for enum in ENUMS:
            await execute_raw(f"DROP TYPE IF EXISTS {q(enum)}{cascade}", client=database)


@pytest.fixture
async def mg_database(database: Any) -> AsyncIterator[Any]:
    """The test's database, cleared of the migration tests' objects before and after."""
    await drop_test_schema(database)
    yield database
    await drop_test_schema(database)
