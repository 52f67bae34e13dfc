"""Migration files: what makemigrations writes replays to the models' schema; loading
checks the history; squashing keeps deployed databases in step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oxyde import Check, Field, Index, Model
from oxyde.meta.registry import unregister_table
from oxyde.migrations import (
    MigrationError,
    load_migrations,
    make_migration,
    migrate,
    migration_status,
    replay,
    snapshot_models,
    squash_migrations,
)
from oxyde.migrations.diff import schemas_equivalent
from oxyde.migrations.loader import resolve_target
from tests.migrations import schemas

pytestmark = pytest.mark.usefixtures("isolated_registry")


def test_written_migrations_replay_to_the_models_schema(tmp_path: Path) -> None:
    models = schemas.v1()
    made = make_migration(tmp_path, models=models)
    assert made is not None and made.written and made.path.name == "0001_initial.py"
    for model in models:
        unregister_table(model)
    models = schemas.v2()
    second = make_migration(tmp_path, models=models, renames={"mg_post.title": "headline"})
    assert second is not None and second.name.startswith("0002_rename_title_to_headline")
    loaded = load_migrations(tmp_path)
    assert [m.name for m in loaded] == ["0001_initial", second.name]
    assert loaded[1].depends_on == ("0001_initial",)
    assert schemas_equivalent(replay(loaded), snapshot_models(models))
    # and the downgrade of the second returns to the first
    from oxyde.migrations import MigrationContext

    ctx = MigrationContext(replay(loaded))
    loaded[1].run(ctx, backwards=True)
    assert schemas_equivalent(ctx.state, replay(loaded[:1]))
    assert make_migration(tmp_path, models=models) is None


def test_user_sql_in_a_check_keeps_the_file_valid(tmp_path: Path) -> None:
    class MgTag(Model):
        id: int | None = Field(default=None, db_pk=True)
        code: str = Field(max_length=10)

        class Meta:
            is_table = True
            table_name = "mg_tag"
            constraints = [Check('code <> \'\\d"""\'', name="mg_tag_code")]

    made = make_migration(tmp_path, models=[MgTag], name="Tags & codes!")
    assert made is not None and made.name == "0001_tags_codes"
    (loaded,) = load_migrations(tmp_path)
    assert replay([loaded]).tables["mg_tag"].checks["mg_tag_code"].expression == (
        'code <> \'\\d"""\''
    )


def test_makemigrations_checks_the_dialect_first(tmp_path: Path) -> None:
    class MgTag(Model):
        id: int | None = Field(default=None, db_pk=True)
        code: str = Field(max_length=10)

        class Meta:
            is_table = True
            table_name = "mg_tag"
            indexes = [Index(("code",), where="code <> ''", name="mg_tag_code_idx")]

    with pytest.raises(
        MigrationError, match=r"Create table mg_tag: .*partial indexes \(where=\) are not supported"
    ):
        make_migration(tmp_path, models=[MgTag], dialect="mysql")
    assert not list(tmp_path.glob("*.py"))
    assert make_migration(tmp_path, models=[MgTag], dialect="postgres") is not None


def write(folder: Path, name: str, depends: Any = None, body: str = "pass") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(
        f"depends_on = {depends!r}\n\ndef upgrade(ctx):\n    {body}\n\n"
        "def downgrade(ctx):\n    pass\n"
    )


def test_loading_orders_by_dependency_and_reports_broken_histories(tmp_path: Path) -> None:
    write(tmp_path, "0002_b", "0001_a")
    write(tmp_path, "0001_a")
    write(tmp_path, "0003_c", ["0001_a", "0002_b"])
    assert [m.name for m in load_migrations(tmp_path)] == ["0001_a", "0002_b", "0003_c"]
    assert resolve_target(load_migrations(tmp_path), "0002") == "0002_b"
    with pytest.raises(MigrationError, match="no migration matches"):
        resolve_target(load_migrations(tmp_path), "0009")
    write(tmp_path, "0004_d", "0009_missing")
    with pytest.raises(MigrationError, match="0004_d depends on 0009_missing"):
        load_migrations(tmp_path)
    write(tmp_path, "0004_d", "0005_e")
    write(tmp_path, "0005_e", "0004_d")
    with pytest.raises(MigrationError, match="cycle"):
        load_migrations(tmp_path)


def test_two_heads_must_be_merged_before_makemigrations(tmp_path: Path) -> None:
    write(tmp_path, "0001_a")
    write(tmp_path, "0002_b", "0001_a")
    write(tmp_path, "0002_c", "0001_a")
    with pytest.raises(MigrationError, match="several heads"):
        make_migration(tmp_path, models=schemas.v1())


def test_a_migration_that_breaks_names_its_file(tmp_path: Path) -> None:
    write(tmp_path, "0001_a", body='ctx.drop_table("nope")')
    with pytest.raises(MigrationError, match=r"0001_a\.upgrade: no table 'nope'"):
        replay(load_migrations(tmp_path))


@pytest.mark.parametrize("backend_name", ["sqlite"])
async def test_squash_keeps_deployed_databases_in_step(mg_database: Any, tmp_path: Path) -> None:
    db = mg_database
    folder = tmp_path / "m"
    models = schemas.v1()
    make_migration(folder, models=models)
    for model in models:
        unregister_table(model)
    models = schemas.v2()
    make_migration(folder, models=models, renames={"mg_post.title": "headline"})
    (folder / "0003_raw.py").write_text(
        "depends_on = '0002_rename_title_to_headline_and_more'\n\n"
        "def upgrade(ctx):\n    ctx.execute('UPDATE mg_post SET views = 0')\n\n"
        "def downgrade(ctx):\n    pass\n"
    )
    await migrate(folder, database=db)

    result = squash_migrations(folder, name="base")
    assert result.path.name == "0001_base.py"
    assert result.dropped_sql == ["0003_raw"]
    assert [p.name for p in folder.glob("*.py")] == ["0001_base.py"]
    (squashed,) = load_migrations(folder)
    assert squashed.replaces == (
        "0001_initial",
        "0002_rename_title_to_headline_and_more",
        "0003_raw",
    )
    assert schemas_equivalent(replay([squashed]), snapshot_models(models))
    # the database that ran the old files counts it as applied
    assert (await migrate(folder, database=db)).applied == []
    statuses = await migration_status(folder, database=db)
    assert [(s.name, s.applied) for s in statuses] == [("0001_base", True)]
    # and it rolls back like any migration
    assert (await migrate(folder, "zero", database=db)).rolled_back == ["0001_base"]
    statuses = await migration_status(folder, database=db)
    assert [(s.name, s.applied) for s in statuses] == [("0001_base", False)]
