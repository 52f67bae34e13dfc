"""Running migrations: failures leave the recorded state true, --fake, manual steps,
table rebuilds that keep related rows, and the migration lock."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from oxyde.exceptions import OxydeError
from oxyde.migrations import MigrationError, MigrationLockError, migrate, migration_status
from oxyde.migrations.alter import alter_ddl
from oxyde.queries import execute_raw

AUTHOR = """\
    ctx.create_table(
        "mg_author",
        fields=[
            {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
            {"name": "name", "kind": "str", "max_length": 50},
        ],
    )
"""
POST = """\
    ctx.create_table(
        "mg_post",
        fields=[
            {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
            {"name": "title", "kind": "str", "max_length": 50},
            {"name": "author_id", "kind": "int", "nullable": True},
        ],
        indexes=[{"name": "mg_post_title_idx", "columns": ["title"]}],
        foreign_keys=[
            {"name": "fk_mg_post_author_id", "column": "author_id", "ref_table": "mg_author",
             "ref_column": "id", "on_delete": "CASCADE"},
        ],
    )
"""


def write(folder: Path, name: str, upgrade: str, downgrade: str = "    pass\n", depends=None):
    folder.mkdir(exist_ok=True)
    source = (
        "from oxyde.migrations import MigrationContext\n\n"
        f"depends_on = {depends!r}\n\n\n"
        f"def upgrade(ctx: MigrationContext) -> None:\n{upgrade}\n\n"
        f"def downgrade(ctx: MigrationContext) -> None:\n{downgrade}"
    )
    (folder / f"{name}.py").write_text(source)


async def exists(database: Any, table: str) -> bool:
    try:
        await execute_raw(
            f"SELECT 1 FROM {database.dialect.quote_ident(table)} WHERE 1 = 0", client=database
        )
    except OxydeError:
        return False
    return True


async def recorded(database: Any) -> list[tuple[str, Any]]:
    rows = await execute_raw(
        "SELECT name, partial FROM oxyde_migrations ORDER BY id", client=database
    )
    return [(r["name"], r["partial"]) for r in rows]


async def test_a_failed_migration_leaves_the_recorded_state_true(
    mg_database: Any, tmp_path: Path
) -> None:
    db = mg_database
    folder = tmp_path / "m"
    write(folder, "0001_author", AUTHOR, '    ctx.drop_table("mg_author")\n')
    write(
        folder,
        "0002_broken",
        POST + '    ctx.execute("INSERT INTO mg_no_such_table VALUES (1)")\n',
        '    ctx.drop_table("mg_post")\n',
        depends="0001_author",
    )
    with pytest.raises(MigrationError, match="0002_broken failed") as info:
        await migrate(folder, database=db)
    assert "mg_no_such_table" in str(info.value)
    assert await exists(db, "mg_author")

    if alter_ddl(db.dialect).transactional:
        # rolled back as a whole: nothing of it exists, nothing recorded
        assert not await exists(db, "mg_post")
        assert await recorded(db) == [("0001_author", None)]
        statuses = await migration_status(folder, database=db)
        assert [(s.name, s.applied) for s in statuses] == [
            ("0001_author", True),
            ("0002_broken", False),
        ]
        return

    # DDL that commits itself: the record says how far it got, and the next run
    # continues from the statement that failed (which fails again here)
    assert await exists(db, "mg_post")
    (partial,) = [p for n, p in await recorded(db) if n == "0002_broken"]
    assert partial.startswith("upgrade ") and "/3 " in partial
    with pytest.raises(MigrationError, match="0002_broken failed"):
        await migrate(folder, database=db)
    assert [p for n, p in await recorded(db) if n == "0002_broken"] == [partial]
    with pytest.raises(MigrationError, match="stopped part-way in its upgrade"):
        await migrate(folder, "0001", database=db)
    # the cause fixed, it continues from the statement that failed
    await execute_raw("CREATE TABLE mg_no_such_table (id INT)", client=db)
    try:
        assert (await migrate(folder, database=db)).applied == ["0002_broken"]
    finally:
        await execute_raw("DROP TABLE mg_no_such_table", client=db)
    assert await recorded(db) == [("0001_author", None), ("0002_broken", None)]
    await execute_raw("DROP TABLE mg_post", client=db)
    await migrate(folder, "0001", database=db, fake=True)
    assert await recorded(db) == [("0001_author", None)]


async def test_fake_only_records(mg_database: Any, tmp_path: Path) -> None:
    db = mg_database
    folder = tmp_path / "m"
    write(folder, "0001_author", AUTHOR, '    ctx.drop_table("mg_author")\n')
    result = await migrate(folder, database=db, fake=True)
    assert result.applied == ["0001_author"]
    assert not await exists(db, "mg_author")
    assert [n for n, _ in await recorded(db)] == ["0001_author"]
    result = await migrate(folder, "zero", database=db, fake=True)
    assert result.rolled_back == ["0001_author"]
    assert await recorded(db) == []


async def test_a_manual_step_fails_before_anything_runs(mg_database: Any, tmp_path: Path) -> None:
    db = mg_database
    folder = tmp_path / "m"
    write(folder, "0001_author", AUTHOR + '    ctx.require_manual("copy the old data")\n')
    with pytest.raises(MigrationError, match="copy the old data"):
        await migrate(folder, database=db)
    assert not await exists(db, "mg_author")
    assert await recorded(db) == []


async def test_changing_a_parent_table_keeps_its_children(mg_database: Any, tmp_path: Path) -> None:
    # SQLite rebuilds mg_author here: the rows of mg_post must neither be deleted by
    # its ON DELETE CASCADE nor lose their foreign key
    db = mg_database
    q = db.dialect.quote_ident
    folder = tmp_path / "m"
    write(folder, "0001_initial", AUTHOR + POST)
    await migrate(folder, database=db)
    await execute_raw(f"INSERT INTO {q('mg_author')} ({q('name')}) VALUES ('ann')", client=db)
    (author,) = await execute_raw(f"SELECT {q('id')} AS id FROM {q('mg_author')}", client=db)
    await execute_raw(
        f"INSERT INTO {q('mg_post')} ({q('title')}, {q('author_id')}) VALUES ('p', {author['id']})",
        client=db,
    )
    write(
        folder,
        "0002_longer_names",
        '    ctx.alter_column("mg_author", "name", max_length=200, nullable=True)\n',
        '    ctx.alter_column("mg_author", "name", max_length=50, nullable=False)\n',
        depends="0001_initial",
    )
    assert (await migrate(folder, database=db)).applied == ["0002_longer_names"]
    rows = await execute_raw(f"SELECT {q('author_id')} AS a FROM {q('mg_post')}", client=db)
    assert rows == [{"a": author["id"]}]
    # the foreign key still holds, and still cascades
    with pytest.raises(OxydeError):
        await execute_raw(
            f"INSERT INTO {q('mg_post')} ({q('title')}, {q('author_id')}) VALUES ('x', 424242)",
            client=db,
        )
    await execute_raw(f"DELETE FROM {q('mg_author')}", client=db)
    assert await execute_raw(f"SELECT * FROM {q('mg_post')}", client=db) == []
    await migrate(folder, "zero", database=db)


@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_a_second_migrate_fails_clearly_while_the_lock_is_held(
    mg_database: Any, make_database: Any, tmp_path: Path
) -> None:
    db = mg_database
    other = await make_database(name="mg_other")
    folder = tmp_path / "m"
    write(folder, "0001_author", AUTHOR, '    ctx.drop_table("mg_author")\n')
    ddl = alter_ddl(db.dialect)
    assert ddl.lock_sql is not None and ddl.unlock_sql is not None
    async with other.connection() as holder:
        assert (await holder.fetch(ddl.lock_sql, ()))[0][0]
        started = time.monotonic()
        with pytest.raises(MigrationLockError, match="another process is migrating"):
            await migrate(folder, database=db, lock_timeout=0.3)
        assert time.monotonic() - started < 5
        await holder.fetch(ddl.unlock_sql, ())
    assert not await exists(db, "mg_author")
    assert (await migrate(folder, database=db)).applied == ["0001_author"]
    await migrate(folder, "zero", database=db)


@pytest.mark.parametrize("backend_name", ["postgres"])
async def test_two_concurrent_migrates_apply_each_migration_once(
    mg_database: Any, make_database: Any, tmp_path: Path
) -> None:
    db = mg_database
    other = await make_database(name="mg_other")
    folder = tmp_path / "m"
    write(
        folder,
        "0001_author",
        AUTHOR + '    ctx.execute("SELECT pg_sleep(0.3)")\n',
        '    ctx.drop_table("mg_author")\n',
    )
    write(folder, "0002_post", POST, '    ctx.drop_table("mg_post")\n', depends="0001_author")
    first, second = await asyncio.gather(
        migrate(folder, database=db, lock_timeout=10),
        migrate(folder, database=other, lock_timeout=10),
    )
    runs = sorted([first.applied, second.applied], key=len)
    assert runs == [[], ["0001_author", "0002_post"]]
    assert await recorded(db) == [("0001_author", None), ("0002_post", None)]
    await migrate(folder, "zero", database=db)


class Notes:
    """A ``Progress`` that keeps what ``migrate`` says before each migration."""

    def __init__(self) -> None:
        self.notes: dict[str, list[str]] = {}

    def start(self, name: str, *, backwards: bool, fake: bool, notes: Any) -> None:
        self.notes[name] = list(notes)

    def finish(self, name: str, *, backwards: bool, seconds: float) -> None:
        pass


async def test_what_runs_outside_the_transaction_is_said_up_front(
    mg_database: Any, tmp_path: Path
) -> None:
    db = mg_database
    folder = tmp_path / "m"
    write(
        folder,
        "0001_kinds",
        '    ctx.create_enum_type("mg_kind_enum", ["a", "b"])\n'
        '    ctx.create_table("mg_tag", fields=[\n'
        '        {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},\n'
        '        {"name": "kind", "kind": "enum", "enum": "mg_kind_enum"},\n'
        "    ])\n",
        '    ctx.drop_table("mg_tag")\n    ctx.drop_enum_type("mg_kind_enum")\n',
    )
    write(
        folder,
        "0002_kind_c",
        '    ctx.add_enum_value("mg_kind_enum", "c")\n'
        "    ctx.execute(\"INSERT INTO mg_tag (kind) VALUES ('c')\")\n",
        '    ctx.execute("DELETE FROM mg_tag")\n'
        '    ctx.alter_enum_type("mg_kind_enum", ["a", "b"])\n',
        depends="0001_kinds",
    )
    progress = Notes()
    await migrate(folder, database=db, progress=progress)
    ddl = alter_ddl(db.dialect)
    notes = progress.notes["0002_kind_c"]
    if not ddl.transactional:
        assert any("commits each DDL statement" in n for n in notes)
    elif ddl.style.enum_types:
        # PostgreSQL: the new value is committed first, so the migration can use it
        assert any("before the migration's transaction" in n for n in notes)
    else:
        assert notes == []
    rows = await execute_raw("SELECT kind FROM mg_tag", client=db)
    assert [r["kind"] for r in rows] == ["c"]
    await migrate(folder, "zero", database=db)
