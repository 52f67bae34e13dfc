"""Helpers of the migration tests that drive the ``oxyde`` command: a project folder
on the test's database, migration files, and what the database recorded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from oxyde.queries import execute_raw

ROOT = Path(__file__).resolve().parents[2]


def oxyde(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m oxyde`` in ``cwd`` (stdin is not a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "400"}
    env.pop("OXYDE_TRACEBACK", None)
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


async def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(oxyde, cwd, *args)


def project(tmp_path: Path, backend: str, url: str, models: str = "") -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "mg_safety_models.py").write_text(models or "from oxyde import Model\n")
    (folder / "oxyde_config.py").write_text(
        textwrap.dedent(
            f"""\
            MODELS = ["mg_safety_models"]
            DIALECT = {backend!r}
            MIGRATIONS_DIR = "migrations"
            DATABASES = {{"default": {url!r}}}
            """
        )
    )
    (folder / "migrations").mkdir()
    return folder


def write(folder: Path, name: str, upgrade: str, downgrade: str, depends: str | None) -> None:
    (folder / "migrations" / f"{name}.py").write_text(
        f"depends_on = {depends!r}\n\n\ndef upgrade(ctx):\n{textwrap.indent(upgrade, '    ')}\n\n"
        f"def downgrade(ctx):\n{textwrap.indent(downgrade, '    ')}\n"
    )


async def rows(database: Any, sql: str) -> list[dict[str, Any]]:
    return list(await execute_raw(sql, client=database))


async def recorded(database: Any) -> list[tuple[str, Any]]:
    found = await rows(database, "SELECT name, partial FROM oxyde_migrations ORDER BY id")
    return [(r["name"], r["partial"]) for r in found]


async def columns(database: Any, table: str) -> set[str]:
    q = database.dialect.quote_ident
    if database.dialect.name == "sqlite":
        return {r["name"] for r in await rows(database, f"PRAGMA table_info({q(table)})")}
    found = await rows(
        database,
        "SELECT column_name AS c FROM information_schema.columns WHERE table_name = "
        f"'{table}' AND table_schema = "
        + ("DATABASE()" if database.dialect.name == "mysql" else "current_schema()"),
    )
    return {r["c"] if "c" in r else r["C"] for r in found}
