"""``oxyde sqlmigrate`` output per dialect, against reviewed golden files, and the same
migrations run on each backend.

Set ``OXYDE_UPDATE_GOLDEN=1`` to rewrite the golden files after a deliberate change
(then review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from oxyde.cli import app
from oxyde.migrations import migrate

GOLDEN = Path(__file__).resolve().parent / "golden"
CONFIG = GOLDEN / "oxyde_config.py"
MIGRATIONS = ("0001_initial", "0002_changes", "0003_enum_values")


def sqlmigrate_output(dialect: str) -> str:
    runner = CliRunner()
    chunks = []
    for name in MIGRATIONS:
        for backwards in (False, True):
            args = ["sqlmigrate", name, "--dialect", dialect, "--config", str(CONFIG)]
            if backwards:
                args.append("--backwards")
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            direction = "backwards" if backwards else "forwards"
            chunks.append(f"-- {name} ({direction})\n{result.stdout}")
    return "\n".join(chunks)


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_sqlmigrate_matches_the_golden_file(dialect: str) -> None:
    golden = GOLDEN / f"{dialect}.sql"
    output = sqlmigrate_output(dialect)
    if os.environ.get("OXYDE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


async def test_the_golden_migrations_run(mg_database: Any) -> None:
    db = mg_database
    folder = GOLDEN / "migrations"
    result = await migrate(folder, "0002", database=db)
    assert result.applied == ["0001_initial", "0002_changes"]
    assert (await migrate(folder, "zero", database=db)).rolled_back == [
        "0002_changes",
        "0001_initial",
    ]
