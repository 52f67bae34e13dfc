"""``squash_migrations``: replace a migration history by one file that builds the same
schema. Databases that applied the old files count the new one as applied (its
``replaces`` lists them), so nothing needs faking."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.diff import diff_schemas
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.loader import load_migrations
from oxyde.migrations.operations import RequireManual, RunSQL
from oxyde.migrations.state import SchemaState
from oxyde.migrations.writer import migration_name, render_migration, reverse_operations

__all__ = ["SquashResult", "squash_migrations"]


@dataclass
class SquashResult:
    """What a squash did, in the public Oxyde's fields (plus this package's names)."""

    #: the file written (None: nothing to squash)
    new_file: Path | None
    #: the migrations replaced (their files are deleted)
    deleted_files: list[str] = field(default_factory=list)
    #: migrations whose ``ctx.execute`` / ``require_manual`` steps the squash leaves out
    raw_sql_files: list[str] = field(default_factory=list)
    #: files in the public Oxyde's older format (read and rewritten in this one)
    legacy_files: list[str] = field(default_factory=list)
    #: tables in the squashed schema
    table_count: int = 0

    @property
    def path(self) -> Path:
        assert self.new_file is not None
        return self.new_file

    @property
    def replaced(self) -> list[str]:
        return self.deleted_files

    @property
    def dropped_sql(self) -> list[str]:
        return self.raw_sql_files


def squash_migrations(migrations_dir: str | Path, name: str = "squashed") -> SquashResult:
    """Write ``0001_<name>.py`` with the schema of every migration in ``migrations_dir``
    and delete the old files. Raw SQL steps cannot be carried over and are reported;
    ``new_file`` is None when there is nothing to squash."""
    folder = Path(migrations_dir)
    migrations = load_migrations(folder)
    if not migrations:
        return SquashResult(None)
    ctx = MigrationContext()
    dropped: list[str] = []
    replaced: list[str] = []
    for m in migrations:
        start = len(ctx.operations)
        m.run(ctx)
        if any(isinstance(op, RunSQL | RequireManual) for op in ctx.operations[start:]):
            dropped.append(m.name)
        replaced.extend(r for r in m.replaces if r not in replaced)
        replaced.append(m.name)
    operations = diff_schemas(SchemaState(), ctx.state).operations
    file_name = migration_name(1, operations, name=name)
    if file_name in replaced:
        raise MigrationError(f"{file_name} already exists; pick another --name")
    source = render_migration(
        operations,
        reverse_operations(SchemaState(), operations),
        depends_on=None,
        description=f"Squashed from {', '.join(m.name for m in migrations)}.",
        replaces=replaced,
    )
    target = folder / f"{file_name}.py"
    # write next to the old files first, so a failure leaves the history as it was
    fd, temp = tempfile.mkstemp(prefix=".squash_", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(source)
    for m in migrations:
        m.path.unlink()
    os.replace(temp, target)
    legacy = [m.name for m in migrations if m.public_format]
    return SquashResult(target, replaced, dropped, legacy, len(ctx.state.tables))
