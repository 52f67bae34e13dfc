"""Models -> makemigrations -> migrate -> change the models -> makemigrations -> migrate,
with the data kept, then back to zero, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oxyde.exceptions import IntegrityError, OxydeError
from oxyde.meta.registry import unregister_table
from oxyde.migrations import make_migration, migrate, migration_status
from oxyde.migrations.operations import (
    AddCheck,
    AddColumn,
    AddEnumValue,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    DropColumn,
    RenameColumn,
)
from oxyde.queries import execute_raw
from tests.migrations import schemas

pytestmark = pytest.mark.usefixtures("isolated_registry")


async def _table_exists(database: Any, table: str) -> bool:
    try:
        await execute_raw(
            f"SELECT 1 FROM {database.dialect.quote_ident(table)} WHERE 1 = 0", client=database
        )
    except OxydeError:
        return False
    return True


async def _enum_types(database: Any) -> list[str]:
    if database.dialect.name != "postgres":
        return []
    rows = await execute_raw(
        "SELECT typname FROM pg_type WHERE typname LIKE 'mg\\_%'", client=database
    )
    return [r["typname"] for r in rows]


async def test_models_to_migrations_and_back(mg_database: Any, tmp_path: Path) -> None:
    db = mg_database
    folder = tmp_path / "migrations"

    author_v1, post_v1 = schemas.v1()
    first = make_migration(folder, models=[author_v1, post_v1])
    assert first is not None and first.name == "0001_initial"
    result = await migrate(folder, database=db)
    assert result.applied == ["0001_initial"]

    author = await author_v1.objects.create(name="Ann")
    await post_v1.objects.create(title="Hello", body="short body", views=3, legacy="old")
    await post_v1.objects.create(title="Second", views=0, state=schemas.MgState.published)

    for model in (author_v1, post_v1):
        unregister_table(model)
    author_v2, post_v2 = schemas.v2()
    second = make_migration(
        folder, models=[author_v2, post_v2], renames={"mg_post.title": "headline"}
    )
    assert second is not None
    kinds = {type(op) for op in second.operations}
    assert {
        RenameColumn,
        AddColumn,
        AlterColumn,
        DropColumn,
        CreateIndex,
        AddForeignKey,
        AddCheck,
        AddEnumValue,
    } <= kinds
    assert make_migration(folder, models=[author_v2, post_v2], dry_run=True) is None

    result = await migrate(folder, database=db)
    assert result.applied == [second.name]

    # the data survived the rename, the longer column and the rebuilds
    posts = await post_v2.objects.order_by("id").all()
    assert [(p.headline, p.body, p.views, p.rating) for p in posts] == [
        ("Hello", "short body", 3, None),
        ("Second", None, 0, None),
    ]
    assert posts[1].state == schemas.MgStateV2.published
    # the new column, enum value and foreign key work
    updated = await post_v2.objects.filter(headline="Hello").update(
        body="b" * 150, rating=5, state=schemas.MgStateV2.archived, author_id=author.id
    )
    assert updated == 1
    got = await post_v2.objects.get(headline="Hello")
    assert (got.body, got.rating, got.state, got.author_id) == (
        "b" * 150,
        5,
        schemas.MgStateV2.archived,
        author.id,
    )
    # the new check and foreign key are enforced
    with pytest.raises(IntegrityError):
        await post_v2.objects.create(headline="bad", views=-1)
    with pytest.raises(IntegrityError):
        await post_v2.objects.create(headline="orphan", author_id=987654)

    statuses = await migration_status(folder, database=db)
    assert [(s.name, s.applied) for s in statuses] == [
        ("0001_initial", True),
        (second.name, True),
    ]

    # one step back: the data is still there under its old name (values the old
    # schema cannot hold are changed first: a shorter body, no "archived")
    await post_v2.objects.filter(headline="Hello").update(
        body="short again", state=schemas.MgStateV2.draft
    )
    result = await migrate(folder, "0001", database=db)
    assert result.rolled_back == [second.name]
    rows = await execute_raw(
        f"SELECT {db.dialect.quote_ident('title')} AS t FROM {db.dialect.quote_ident('mg_post')}"
        f" ORDER BY {db.dialect.quote_ident('id')}",
        client=db,
    )
    assert [r["t"] for r in rows] == ["Hello", "Second"]

    # forward again, then everything away
    assert (await migrate(folder, database=db)).applied == [second.name]
    result = await migrate(folder, "zero", database=db)
    assert result.rolled_back == [second.name, "0001_initial"]
    assert not await _table_exists(db, "mg_post")
    assert not await _table_exists(db, "mg_author")
    assert await _enum_types(db) == []
    assert await execute_raw("SELECT name FROM oxyde_migrations", client=db) == []
