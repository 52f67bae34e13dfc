"""Moving a project from the public Oxyde: its migration files and ``oxyde_migrations``
table (as the released package wrote them, see ``public_project/README.md``) keep
working with ``oxyde showmigrations``, ``makemigrations`` and ``migrate``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.loader import load_migrations, replay
from oxyde.migrations.maker import make_migration
from oxyde.migrations.operations import AlterColumn, CreateEnum, DropEnum
from oxyde.queries import execute_raw

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "public_project"
PUBLIC_MIGRATIONS = ["0001_create_pub_author_table", "0002_add_bio_to_pub_author"]
TABLES = ("pub_tag", "pub_post", "pub_author", "oxyde_migrations")


def oxyde(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "oxyde", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def q(database: Any, name: str) -> str:
    return str(database.dialect.quote_ident(name))


async def drop_all(database: Any) -> None:
    for table in TABLES:
        await database.execute(f"DROP TABLE IF EXISTS {q(database, table)}", ())


def make_project(tmp_path: Path, backend: str, url: str, models: str = "models_v2") -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / backend / "migrations", project / "migrations")
    shutil.copy(FIXTURES / f"{models}.py", project / "models.py")
    (project / "oxyde_config.py").write_text(
        textwrap.dedent(
            f"""\
            MODELS = ["models"]
            DIALECT = {backend!r}
            MIGRATIONS_DIR = "migrations"
            DATABASES = {{"default": {url!r}}}
            """
        )
    )
    return project


async def public_database(database: Any, backend: str) -> None:
    """The database as the public Oxyde's ``migrate`` left it, with some rows."""
    await drop_all(database)
    script = (FIXTURES / backend / "public_schema.sql").read_text()
    for statement in script.split(";\n"):
        sql = "\n".join(
            line for line in statement.splitlines() if not line.startswith("--")
        ).strip()
        if sql:
            await database.execute(sql, ())
    marks = "$1" if backend == "postgres" else "?"
    for name in PUBLIC_MIGRATIONS:
        await execute_raw(
            "INSERT INTO oxyde_migrations (name, applied_at) "
            f"VALUES ({marks}, '2026-01-02 03:04:05')",
            [name],
        )
    await execute_raw(
        "INSERT INTO pub_author (email, name, active, rating, balance, bio) "
        "VALUES ('ann@example.com', 'Ann', " + ("TRUE" if backend == "postgres" else "1") + ", "
        "4.5, 12.34, '100% author')"
    )
    await execute_raw(
        "INSERT INTO pub_post (author_id, title, body) "
        "SELECT id, 'Hello', 'First post' FROM pub_author"
    )


@pytest.fixture
async def clean(database: Any) -> Any:
    await drop_all(database)
    yield database
    await drop_all(database)


async def test_a_public_project_moves(
    clean: Any, backend_name: str, database_url: str, tmp_path: Path
) -> None:
    database = clean
    await public_database(database, backend_name)
    before_ids = await execute_raw("SELECT id, name FROM oxyde_migrations ORDER BY id")
    project = make_project(tmp_path, backend_name, database_url)

    shown = oxyde(project, "showmigrations")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "[X] 0001_create_pub_author_table",
        "[X] 0002_add_bio_to_pub_author",
        "2 of 2 applied.",
    ]
    # Upgraded in place: the same rows, plus this package's columns.
    rows = await execute_raw("SELECT id, name, partial FROM oxyde_migrations ORDER BY id")
    assert [(r["id"], r["name"], r["partial"]) for r in rows] == [
        (r["id"], r["name"], None) for r in before_ids
    ]

    # The files describe exactly the models they were made from.
    made = oxyde(project, "makemigrations")
    assert made.returncode == 0, made.stderr
    assert "No changes detected." in made.stdout

    shutil.copy(FIXTURES / "models_v3.py", project / "models.py")
    made = oxyde(project, "makemigrations")
    assert made.returncode == 0, made.stderr
    new = sorted((project / "migrations").glob("0003_*.py"))
    assert len(new) == 1, made.stdout
    migrations = load_migrations(project / "migrations")
    assert [m.name for m in migrations][:2] == PUBLIC_MIGRATIONS
    ctx = MigrationContext(replay(migrations[:2], dialect=backend_name), dialect=backend_name)
    migrations[2].run(ctx)
    assert sorted(op.describe() for op in ctx.operations) == sorted(
        ["Add column views to pub_post", "Create table pub_tag"]
    ), [op.describe() for op in ctx.operations]

    applied = oxyde(project, "migrate")
    assert applied.returncode == 0, applied.stderr
    authors = await execute_raw("SELECT name, bio, balance FROM pub_author")
    assert [(a["name"], a["bio"]) for a in authors] == [("Ann", "100% author")]
    posts = await execute_raw("SELECT title, views FROM pub_post")
    assert [(p["title"], p["views"]) for p in posts] == [("Hello", 0)]
    assert await execute_raw("SELECT * FROM pub_tag") == []

    shown = oxyde(project, "showmigrations")
    assert shown.stdout.splitlines()[-1] == "3 of 3 applied."
    again = oxyde(project, "makemigrations")
    assert "No changes detected." in again.stdout

    # And back: the new migration rolls back, the public ones stay applied.
    back = oxyde(project, "migrate", PUBLIC_MIGRATIONS[-1])
    assert back.returncode == 0, back.stderr
    names = await execute_raw("SELECT name FROM oxyde_migrations ORDER BY id")
    assert [n["name"] for n in names] == PUBLIC_MIGRATIONS


async def test_the_models_of_the_files_match_on_every_backend(backend_name: str) -> None:
    """Replaying the public files gives exactly what this package makes of their models,
    so ``makemigrations`` has nothing to add (checked without a database)."""
    from oxyde.migrations import diff_schemas, snapshot_models

    models_v2 = load_models(FIXTURES / "models_v2.py")
    from oxyde.models import unregister_table

    models = [models_v2.Author, models_v2.Post]
    for model in models:
        unregister_table(model)
    state = replay(load_migrations(FIXTURES / backend_name / "migrations"), dialect=backend_name)
    assert diff_schemas(state, snapshot_models(models)).operations == []


BAD_FIELD = """\
\"\"\"Auto-generated migration.

Created: 2026-01-01 00:00:00
\"\"\"

depends_on = "0002_add_bio_to_pub_author"


def upgrade(ctx):
    ctx.add_column(
        "pub_author",
        {
            "name": "shape",
            "column_type": {"kind": "geometry"},
            "db_type": None,
            "nullable": True,
            "primary_key": False,
            "unique": False,
            "default": None,
            "auto_increment": False,
        },
    )


def downgrade(ctx):
    ctx.drop_column("pub_author", "shape")
"""


async def test_an_unreadable_file_is_named_before_anything_is_written(
    clean: Any, backend_name: str, database_url: str, tmp_path: Path
) -> None:
    database = clean
    project = make_project(tmp_path, backend_name, database_url)
    (project / "migrations" / "0003_add_shape.py").write_text(BAD_FIELD)
    failed = oxyde(project, "migrate")
    assert failed.returncode != 0
    message = failed.stderr + failed.stdout
    assert "0003_add_shape" in message
    assert "'shape'" in message and "geometry" in message
    # Nothing was written: not even the migrations table.
    with pytest.raises(Exception, match=r"(?i)oxyde_migrations|no such table|doesn't exist"):
        await database.fetch(f"SELECT * FROM {q(database, 'oxyde_migrations')}", ())


CHANGES = FIXTURES / "changes"
CHANGE_TABLES = ("gen_item", "gen_shop")


def load_models(path: Path) -> Any:
    """The models module at ``path``, under a name of its own (fixture projects reuse
    module names)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_compat_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the annotations through it
    spec.loader.exec_module(module)
    return module


def _changes_models() -> list[Any]:
    changes_v2 = load_models(CHANGES / "models_v2.py")
    from oxyde.models import unregister_table

    models = [changes_v2.Shop, changes_v2.Item]
    for model in models:
        unregister_table(model)
    return models


async def test_every_kind_of_change_replays_and_applies(
    database: Any, backend_name: str, tmp_path: Path
) -> None:
    """Files with enum values, altered columns, dropped columns, indexes and checks, as
    the public generator wrote them, replay to exactly their models and run."""
    from oxyde.migrations import apply_migrations, diff_schemas, snapshot_models

    folder = tmp_path / "migrations"
    shutil.copytree(CHANGES / backend_name / "migrations", folder)
    state = replay(load_migrations(folder), dialect=backend_name)
    # The public Oxyde names an enum type after its Python class; here it is one type per
    # table and column (docs/compatibility.md), so the only delta is moving to that type.
    moves = diff_schemas(state, snapshot_models(_changes_models())).operations
    assert moves == [
        CreateEnum("gen_item_status_enum", ("draft", "live", "gone")),
        AlterColumn("gen_item", "status", {"enum": "gen_item_status_enum"}),
        DropEnum("status_enum"),
    ]

    async def clean() -> None:
        for table in (*CHANGE_TABLES, "oxyde_migrations"):
            await database.execute(f"DROP TABLE IF EXISTS {q(database, table)}", ())
        if backend_name == "postgres":
            await database.execute("DROP TYPE IF EXISTS status_enum", ())
            await database.execute("DROP TYPE IF EXISTS gen_item_status_enum", ())

    await clean()
    try:
        applied = await apply_migrations(str(folder))
        assert applied == [m.name for m in load_migrations(folder)]
        await execute_raw(
            "INSERT INTO gen_shop (name) VALUES ('s')",
        )
        await execute_raw(
            "INSERT INTO gen_item (shop_id, title, price, status, qty, rating) "
            "SELECT id, 't', 2.50, 'gone', 3, 1.5 FROM gen_shop"
        )
        rows = await execute_raw("SELECT owner, note FROM gen_shop")
        assert rows == [{"owner": "someone", "note": None}]
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            await execute_raw("UPDATE gen_item SET price = 0")

        # makemigrations writes the move to the per-column enum type; it applies with the
        # row in place and leaves nothing more to do.
        made = make_migration(folder, models=_changes_models(), dialect=backend_name)
        assert made is not None
        assert await apply_migrations(str(folder)) == [made.name]
        assert await execute_raw("SELECT status FROM gen_item") == [{"status": "gone"}]
        assert make_migration(folder, models=_changes_models(), dry_run=True) is None
    finally:
        await clean()
