"""The public Oxyde's Python API beyond models and managers: ``Query.fetch_*`` and the
``oxyde.migrations`` functions, run as code written for it runs them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from oxyde import Field, Model
from oxyde.db import create_tables, drop_tables
from oxyde.migrations import (
    SchemaState,
    SquashResult,
    apply_migrations,
    ensure_migrations_table,
    extract_current_schema,
    generate_migration_file,
    get_applied_migrations,
    get_migration_files,
    get_pending_migrations,
    record_migration,
    remove_migration,
    replay_migrations,
    rollback_migration,
    rollback_migrations,
    squash_migrations,
)
from oxyde.models import register_table, unregister_table
from oxyde.queries import FlatValuesListQuery, SupportsExecute, ValuesListQuery, ValuesQuery
from tests.compat.test_compat_migrations import load_models

FIXTURES = Path(__file__).resolve().parent / "public_project"
FIRST, SECOND = "0001_create_pub_author_table", "0002_add_bio_to_pub_author"


class CpApiItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=30)
    rank: int = 0

    class Meta:
        is_table = True
        table_name = "cp_api_item"


unregister_table(CpApiItem)


@pytest.fixture
async def items(database: Any) -> AsyncIterator[Any]:
    await drop_tables(database, models=[CpApiItem])
    await create_tables(database, models=[CpApiItem])
    await CpApiItem.objects.bulk_create([CpApiItem(name="a", rank=2), CpApiItem(name="b", rank=1)])
    yield database
    await drop_tables(database, models=[CpApiItem])


async def test_query_fetch_methods(items: Any) -> None:
    database = items
    assert isinstance(database, SupportsExecute)
    query = CpApiItem.objects.filter(rank__gte=1).order_by("rank")
    assert query.model_class is CpApiItem
    assert [r["name"] for r in await query.fetch_all(database)] == ["b", "a"]
    assert (await query.fetch_one(database) or {})["name"] == "b"
    assert await query.filter(rank=9).fetch_one(database) is None
    models = await query.fetch_models(database)
    assert [m.name for m in models] == ["b", "a"]
    assert all(isinstance(m, CpApiItem) for m in models)
    rows = await query.fetch_rows(database)
    assert [(r["name"], r["rank"]) for r in rows] == [("b", 1), ("a", 2)]
    packed = msgpack.unpackb(await query.fetch_msgpack(database))
    assert [r["name"] for r in packed] == ["b", "a"]
    assert await query.values_list("name", flat=True).fetch_all(database) == ["b", "a"]
    assert await query.values_list("name", "rank").fetch_all(database) == [("b", 1), ("a", 2)]
    # The typed names exist for annotations; values() still returns a Query.
    assert issubclass(ValuesQuery, type(query))
    assert issubclass(ValuesListQuery, type(query))
    assert issubclass(FlatValuesListQuery, type(query))


# -- oxyde.migrations ---------------------------------------------------------------------

TABLES = ("pub_tag", "pub_post", "pub_author", "oxyde_migrations")


@pytest.fixture
async def migrations(database: Any, backend_name: str, tmp_path: Path) -> AsyncIterator[Path]:
    async def clean() -> None:
        q = database.dialect.quote_ident
        for table in TABLES:
            await database.execute(f"DROP TABLE IF EXISTS {q(table)}", ())

    await clean()
    folder = tmp_path / "migrations"
    shutil.copytree(FIXTURES / backend_name / "migrations", folder)
    yield folder
    await clean()


async def test_tracker_functions(migrations: Path) -> None:
    files = get_migration_files(str(migrations))
    assert [p.stem for p in files] == [FIRST, SECOND]
    await ensure_migrations_table()
    assert await get_applied_migrations() == []
    await record_migration(FIRST)
    assert await get_applied_migrations() == [FIRST]
    pending = get_pending_migrations(str(migrations), await get_applied_migrations())
    assert [p.stem for p in pending] == [SECOND]
    await remove_migration(FIRST)
    assert await get_applied_migrations() == []


async def test_apply_and_roll_back_the_public_files(migrations: Path, database: Any) -> None:
    # Their files build the schema on an empty database too.
    assert await apply_migrations(str(migrations)) == [FIRST, SECOND]
    await database.execute(
        "INSERT INTO pub_author (email, name, active, rating, balance, bio) "
        "VALUES ('a@x.org', 'A', TRUE, 1.5, 2.25, 'b')",
        (),
    )
    assert await rollback_migrations(1, str(migrations)) == [SECOND]
    assert await get_applied_migrations() == [FIRST]
    assert await apply_migrations(str(migrations)) == [SECOND]
    with pytest.raises(Exception, match="depend"):
        await rollback_migration(FIRST, str(migrations))
    with pytest.raises(FileNotFoundError):
        await rollback_migration("0009_nothing", str(migrations))
    assert await rollback_migrations(2, str(migrations)) == [SECOND, FIRST]
    assert await get_applied_migrations() == []


async def test_generate_a_migration_from_public_operations(
    migrations: Path, backend_name: str
) -> None:
    path = generate_migration_file(
        [
            {
                "type": "add_column",
                "table": "pub_post",
                "field": {
                    "name": "views",
                    "column_type": {"kind": "big_integer"},
                    "db_type": None,
                    "nullable": False,
                    "primary_key": False,
                    "unique": False,
                    "default": "0",
                    "auto_increment": False,
                },
            }
        ],
        str(migrations),
        name="add_views",
    )
    assert path.name == "0003_add_views.py"
    assert await apply_migrations(str(migrations)) == [FIRST, SECOND, "0003_add_views"]
    snapshot = replay_migrations(str(migrations))
    views = next(f for f in snapshot["tables"]["pub_post"]["fields"] if f["name"] == "views")
    assert views["column_type"] == {"kind": "big_integer"}
    assert views["default"] == "0"
    assert await rollback_migrations(1, str(migrations)) == ["0003_add_views"]


def test_replayed_files_equal_the_extracted_models(backend_name: str) -> None:
    models_v2 = load_models(FIXTURES / "models_v2.py")
    models = [models_v2.Author, models_v2.Post]
    for model in models:
        register_table(model, overwrite=True)
    try:
        current = extract_current_schema(backend_name)
    finally:
        for model in models:
            unregister_table(model)
    replayed = replay_migrations(str(FIXTURES / backend_name / "migrations"))
    assert set(current["tables"]) >= {"pub_author", "pub_post"}
    for table in ("pub_author", "pub_post"):
        theirs = {f["name"]: f["column_type"] for f in replayed["tables"][table]["fields"]}
        ours = {f["name"]: f["column_type"] for f in current["tables"][table]["fields"]}
        assert theirs == ours
    # SchemaState applies the public Oxyde's operation dicts.
    state = SchemaState()
    state.apply_operation({"type": "create_table", "table": replayed["tables"]["pub_author"]})
    assert state.to_snapshot()["tables"]["pub_author"]["fields"][1]["column_type"] == {
        "kind": "string",
        "length": 120,
    }


def test_squash_the_public_files(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(FIXTURES / "sqlite" / "migrations", folder)
    result = squash_migrations(folder, "base")
    assert isinstance(result, SquashResult)
    assert result.new_file is not None and result.new_file.name == "0001_base.py"
    assert result.deleted_files == [FIRST, SECOND]
    assert result.legacy_files == [FIRST, SECOND]
    assert result.table_count == 2
    assert [p.name for p in folder.glob("*.py")] == ["0001_base.py"]
    assert squash_migrations(tmp_path / "empty").new_file is None
