"""What the memory scripts (``all_memory.py``, ``stream_memory.py``) share: a narrow table
of many rows on one backend, and one child process per backend.

The table (id, an int, a short label) is filled by the server copying a 1,000-row seed, so
filling it costs the measuring process no memory; it is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
DEFAULT_URLS = {
    "postgres": os.environ.get(
        "OXYDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("OXYDE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}


@asynccontextmanager
async def narrow_table(url: str, rows: int, table: str) -> AsyncIterator[tuple[Any, Any, int]]:
    """``(model, database, rows)``: a fresh table of about ``rows`` rows (a multiple of
    1,000) behind ``model``, on a connected default database."""
    sys.path.insert(0, str(ROOT))
    from oxyde import Field, Model, execute_raw
    from oxyde.db import AsyncDatabase, create_tables, drop_tables

    class NarrowRow(Model):
        id: int | None = Field(default=None, db_pk=True)
        n: int
        label: str = Field(default="", max_length=20)

        class Meta:
            is_table = True
            table_name = table

    database = AsyncDatabase(url, overwrite=True)
    await database.connect()
    try:
        await drop_tables(database, models=[NarrowRow])
        await create_tables(database, models=[NarrowRow])
        await NarrowRow.objects.bulk_create([NarrowRow(n=i, label=f"row {i}") for i in range(1000)])
        thousands = max(1, rows // 1000)
        if thousands > 1:
            await execute_raw(
                f"INSERT INTO {table} (n, label) SELECT a.n * 1000 + b.n, b.label "
                f"FROM {table} a CROSS JOIN {table} b "
                f"WHERE a.n BETWEEN 1 AND {thousands - 1}"
            )
        yield NarrowRow, database, thousands * 1000
    finally:
        if database.connected:
            await drop_tables(database, models=[NarrowRow])
        await database.disconnect()


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backends", default="sqlite,postgres,mysql")
    parser.add_argument("--postgres-url", default=DEFAULT_URLS["postgres"])
    parser.add_argument("--mysql-url", default=DEFAULT_URLS["mysql"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)


def run_per_backend(
    script: str, args: argparse.Namespace, sqlite_dir: str, child_args: list[str]
) -> dict[str, dict[str, Any]]:
    """Run ``script --child`` once per backend named in ``args.backends``, each in a fresh
    process (one backend's peak must not hide another's); their JSON results by backend."""
    urls = {
        "sqlite": f"sqlite:///{sqlite_dir}/narrow.db",
        "postgres": args.postgres_url,
        "mysql": args.mysql_url,
    }
    results: dict[str, dict[str, Any]] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend not in urls:
            raise SystemExit(f"unknown backend {backend!r}; choose from {', '.join(urls)}")
        cmd = [sys.executable, script, "--child", backend, "--url", urls[backend], *child_args]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        if proc.returncode != 0:
            results[backend] = {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
        else:
            results[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results
