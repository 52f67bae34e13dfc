"""``oxyde doctor`` on every backend: pools, SQLite settings, indexes, migrations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oxyde import Field, Model, execute_raw
from oxyde.advice.indexcheck import leading_columns
from oxyde.cli.doctor import Check, diagnose
from oxyde.meta.registry import get_meta
from tests.migrations.clikit import oxyde, project


class DocParent(Model):
    id: int | None = Field(default=None, db_pk=True)
    code: str = Field(max_length=20, db_index=True)
    email: str = Field(max_length=50, db_unique=True)

    class Meta:
        is_table = True
        table_name = "doc_parent"


class DocChild(Model):
    id: int | None = Field(default=None, db_pk=True)
    parent: DocParent | None = Field(default=None, db_on_delete="CASCADE")

    class Meta:
        is_table = True
        table_name = "doc_child"


def by_name(checks: list[Check], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


async def test_fk_without_index_pool_and_settings(
    database: Any, model_tables: Any, backend_name: str
) -> None:
    await model_tables(DocParent, DocChild)
    metas = [get_meta(DocParent), get_meta(DocChild)]
    checks = await diagnose(database, metas)
    fk = by_name(checks, "fk_index")
    if backend_name == "mysql":
        assert fk == []  # InnoDB indexes every foreign key itself
    else:
        assert [c.detail.split(":")[0] for c in fk] == ["DocChild.parent_id"]
        assert "db_index=True" in fk[0].fix
    assert by_name(checks, "declared_index") == []
    if backend_name == "sqlite":
        assert by_name(checks, "pool") == []
        assert [(c.name, c.status) for c in checks if c.name.startswith("sqlite.")] == [
            ("sqlite.journal_mode", "ok"),
            ("sqlite.synchronous", "ok"),
        ]
    else:
        (pool,) = by_name(checks, "pool")
        assert pool.status == "ok", pool
        (crowded,) = by_name(await diagnose(database, metas, processes=100_000), "pool")
        assert crowded.status == "fail"
        assert "100000 process(es) x max_connections=" in crowded.detail


async def test_declared_index_missing_and_missing_table(
    database: Any, model_tables: Any, backend_name: str
) -> None:
    await model_tables(DocParent)
    meta = get_meta(DocParent)
    indexes = await leading_columns(database, meta)
    (name,) = [n for n, cols in indexes.items() if cols == ("code",)]
    q = database.dialect.quote
    drop = f"DROP INDEX {q}{name}{q}"
    if backend_name == "mysql":
        drop += f" ON {q}doc_parent{q}"
    await execute_raw(drop)
    checks = await diagnose(database, [meta, get_meta(DocChild)])
    (declared,) = by_name(checks, "declared_index")
    assert declared.status == "fail"
    assert "Field(code, db_index=True) declares an index on code" in declared.detail
    (table,) = by_name(checks, "table")
    assert table.detail == "DocChild: table 'doc_child' does not exist"


async def test_processes_must_be_positive(database: Any) -> None:
    with pytest.raises(ValueError, match="processes must be at least 1"):
        await diagnose(database, [], processes=0)


MODELS = """
from oxyde import Field, Model


class DrItem(Model):
    id: int | None = Field(default=None, db_pk=True)
    sku: str = Field(max_length=20, db_index=True)

    class Meta:
        is_table = True
        table_name = "dr_item"
"""


async def test_cli_reports_pending_migrations_then_passes(
    database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    folder = project(tmp_path, backend_name, database_url, MODELS)
    await execute_raw("DROP TABLE IF EXISTS dr_item")
    await execute_raw("DROP TABLE IF EXISTS oxyde_migrations")
    made = oxyde(folder, "makemigrations")
    assert made.returncode == 0, made.stderr

    before = oxyde(folder, "doctor", "--json")
    assert before.returncode == 1, before.stderr
    report = json.loads(before.stdout)
    assert report["ok"] is False
    failing = {(c["name"], c["status"]) for c in report["checks"] if c["status"] != "ok"}
    assert ("table", "fail") in failing
    assert ("migrations", "fail") in failing

    migrated = oxyde(folder, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    after = oxyde(folder, "doctor")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "0 problem(s)" in after.stdout
    assert "migrations: 1 applied" in after.stdout
    await execute_raw("DROP TABLE IF EXISTS dr_item")
    await execute_raw("DROP TABLE IF EXISTS oxyde_migrations")


def test_cli_rejects_zero_processes(tmp_path: Path) -> None:
    result = oxyde(tmp_path, "doctor", "--processes", "0")
    assert result.returncode == 2
    assert "--processes" in result.stderr
