"""The public Oxyde's migration functions, over this package's migration machinery.

``apply_migrations`` / ``rollback_migration(s)`` run ``migrate``; the tracker functions
read and write the ``oxyde_migrations`` table; ``replay_migrations`` and
``extract_current_schema`` return schemas as the public Oxyde's snapshot dicts
(``{"version": 1, "tables": {name: {"name", "fields", "indexes", "foreign_keys",
"checks"}}}``, fields in its ``column_type`` form); ``generate_migration_file`` takes its
operation dicts. See ``docs/migrations.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.executor import migrate
from oxyde.migrations.loader import leaf_names, load_migrations, next_number, replay
from oxyde.migrations.recorder import MigrationRecorder
from oxyde.migrations.state import ColumnState, SchemaState, TableState
from oxyde.migrations.writer import migration_name, render_migration, reverse_operations

__all__ = [
    "apply_migrations",
    "apply_public_operation",
    "ensure_migrations_table",
    "extract_current_schema",
    "generate_migration_file",
    "get_applied_migrations",
    "get_migration_files",
    "get_pending_migrations",
    "record_migration",
    "remove_migration",
    "replay_migrations",
    "rollback_migration",
    "rollback_migrations",
    "to_snapshot",
]

_PUBLIC_KINDS = {
    "int": "big_integer",
    "float": "double",
    "bool": "boolean",
    "str": "string",
    "bytes": "blob",
    "datetime": "date_time",
    "date": "date",
    "time": "time",
    "timedelta": "timedelta",
    "uuid": "uuid",
    "decimal": "decimal",
    "json": "json",
}


# -- the tracker --------------------------------------------------------------------------


async def _recorder(db_alias: str) -> MigrationRecorder:
    from oxyde.db.registry import get_connection

    return MigrationRecorder(await get_connection(db_alias))


async def ensure_migrations_table(db_alias: str = "default") -> None:
    """Create the ``oxyde_migrations`` table if needed (an old one is upgraded in place)."""
    await (await _recorder(db_alias)).ensure_table()


async def get_applied_migrations(db_alias: str = "default") -> list[str]:
    """The names of the applied migrations, in the order they were applied."""
    recorder = await _recorder(db_alias)
    await recorder.ensure_table()
    return [record.name for record in await recorder.applied() if not record.partial]


async def record_migration(name: str, db_alias: str = "default") -> None:
    """Record ``name`` as applied (nothing is run)."""
    recorder = await _recorder(db_alias)
    await recorder.ensure_table()
    await recorder.record(name)


async def remove_migration(name: str, db_alias: str = "default") -> None:
    """Forget that ``name`` was applied (nothing is run)."""
    recorder = await _recorder(db_alias)
    await recorder.ensure_table()
    await recorder.remove(name)


def get_migration_files(migrations_dir: str | Path = "migrations") -> list[Path]:
    """The migration files of ``migrations_dir``, dependencies first."""
    return [m.path for m in load_migrations(migrations_dir)]


def get_pending_migrations(
    migrations_dir: str | Path = "migrations", applied: Sequence[str] | None = None
) -> list[Path]:
    """The migration files whose name is not in ``applied``, dependencies first."""
    done = set(applied or ())
    return [m.path for m in load_migrations(migrations_dir) if m.name not in done]


# -- running ------------------------------------------------------------------------------


async def apply_migrations(
    migrations_dir: str | Path = "migrations",
    db_alias: str = "default",
    target: str | None = None,
    fake: bool = False,
) -> list[str]:
    """Apply the pending migrations (up to ``target``); the names applied."""
    result = await migrate(migrations_dir, target=target, database=db_alias, fake=fake)
    return list(result.applied)


async def rollback_migration(
    migration_name: str,
    migrations_dir: str | Path = "migrations",
    db_alias: str = "default",
    fake: bool = False,
) -> None:
    """Roll back the applied migration ``migration_name`` (no applied migration may
    depend on it)."""
    migrations = load_migrations(migrations_dir)
    by_name = {m.name: m for m in migrations}
    migration = by_name.get(migration_name)
    if migration is None:
        raise FileNotFoundError(
            f"Migration file not found: {Path(migrations_dir) / (migration_name + '.py')}"
        )
    applied = set(await get_applied_migrations(db_alias))
    if migration_name not in applied:
        raise MigrationError(f"{migration_name} is not applied")
    dependents = [m.name for m in migrations if migration_name in m.depends_on]
    blocking = [name for name in dependents if name in applied]
    if blocking:
        raise MigrationError(
            f"cannot roll back {migration_name}: the applied {', '.join(blocking)} "
            "depend(s) on it; roll those back first"
        )
    if len(migration.depends_on) > 1:
        raise MigrationError(
            f"{migration_name} merges {', '.join(migration.depends_on)}; roll it back with "
            "`oxyde migrate <target>`"
        )
    target = migration.depends_on[0] if migration.depends_on else "zero"
    await migrate(migrations_dir, target=target, database=db_alias, fake=fake)


async def rollback_migrations(
    steps: int = 1,
    migrations_dir: str | Path = "migrations",
    db_alias: str = "default",
    fake: bool = False,
) -> list[str]:
    """Roll back the last ``steps`` applied migrations, newest first; their names."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    known = {m.name for m in load_migrations(migrations_dir)}
    applied = [name for name in await get_applied_migrations(db_alias) if name in known]
    done: list[str] = []
    for name in reversed(applied[-steps:]):
        await rollback_migration(name, migrations_dir, db_alias, fake)
        done.append(name)
    return done


# -- schemas as the public Oxyde's snapshot dicts -----------------------------------------


def _sql_default(column: ColumnState, dialect: str) -> str | None:
    if column.db_default is not None:
        return column.db_default
    value = column.default
    if value is None:
        return None
    if isinstance(value, bool):
        if dialect == "postgres":
            return "TRUE" if value else "FALSE"
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def _column_type(column: ColumnState, enums: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    if column.kind == "enum":
        return {
            "kind": "enum",
            "name": column.enum,
            "values": list(enums.get(column.enum or "", ())),
        }
    if column.kind == "array":
        return {"kind": "array", "item": {"kind": _PUBLIC_KINDS.get(column.item_kind or "")}}
    if column.kind == "str" and (column.db_type or "").upper() == "TEXT":
        return {"kind": "text"}
    if column.kind == "datetime" and column.timezone:
        return {"kind": "date_time_utc"}
    spec: dict[str, Any] = {"kind": _PUBLIC_KINDS.get(column.kind, "unknown")}
    if column.kind == "str" and column.max_length is not None:
        spec["length"] = column.max_length
    if column.kind == "decimal":
        if column.max_digits is not None:
            spec["precision"] = column.max_digits
        if column.decimal_places is not None:
            spec["scale"] = column.decimal_places
    return spec


def _field(
    column: ColumnState, enums: Mapping[str, tuple[str, ...]], dialect: str
) -> dict[str, Any]:
    return {
        "name": column.name,
        "column_type": _column_type(column, enums),
        "db_type": column.db_type,
        "nullable": column.nullable,
        "primary_key": column.primary_key,
        "unique": column.unique,
        "default": _sql_default(column, dialect),
        "auto_increment": column.auto_increment,
        "max_length": column.max_length,
        "max_digits": column.max_digits,
        "decimal_places": column.decimal_places,
    }


def _table(table: TableState, state: SchemaState, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": table.name,
        "fields": [_field(c, state.enums, dialect) for c in table.columns.values()],
        "indexes": [
            {
                "name": index.name,
                "fields": list(index.columns),
                "unique": index.unique,
                "method": index.method,
                **({"where": index.where} if index.where is not None else {}),
            }
            for index in table.indexes.values()
        ],
        "foreign_keys": [
            {
                "name": fk.name,
                "columns": [fk.column],
                "ref_table": fk.ref_table,
                "ref_columns": [fk.ref_column],
                "on_delete": fk.on_delete,
                "on_update": fk.on_update,
            }
            for fk in table.foreign_keys.values()
        ],
        "checks": [{"name": c.name, "expression": c.expression} for c in table.checks.values()],
    }
    if table.comment is not None:
        out["comment"] = table.comment
    return out


def to_snapshot(state: SchemaState, dialect: str = "sqlite") -> dict[str, Any]:
    """``state`` as the public Oxyde's snapshot dict (SQL defaults for ``dialect``)."""
    return {
        "version": 1,
        "tables": {key: _table(table, state, dialect) for key, table in state.tables.items()},
    }


def replay_migrations(migrations_dir: str | Path = "migrations") -> dict[str, Any]:
    """The schema the migration files of ``migrations_dir`` build, as a snapshot dict."""
    return to_snapshot(replay(load_migrations(migrations_dir)))


def extract_current_schema(dialect: str = "sqlite") -> dict[str, Any]:
    """The schema of the registered table models, as a snapshot dict for ``dialect``."""
    from oxyde.migrations.snapshot import snapshot_models

    if dialect == "postgresql":
        dialect = "postgres"
    return to_snapshot(snapshot_models(), dialect)


# -- the public Oxyde's operation dicts ---------------------------------------------------


def _alter_changes(op: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if "old_field" in op and "new_field" in op:
        old, new = op["old_field"], op["new_field"]
        keys = (
            "column_type",
            "db_type",
            "nullable",
            "default",
            "unique",
            "max_length",
            "max_digits",
            "decimal_places",
        )
        return str(new["name"]), {k: new.get(k) for k in keys if old.get(k) != new.get(k)}
    return str(op["column"]), dict(op.get("changes", {}))


def apply_public_operation(ctx: MigrationContext, op: Mapping[str, Any]) -> None:
    """Run one of the public Oxyde's operation dicts (``{"type": "add_column", ...}``)
    on ``ctx``; ``ValueError`` for one it does not know."""
    kind = op.get("type")
    previous = ctx.public_format
    ctx.public_format = True
    try:
        if kind == "create_table":
            table = op["table"]
            ctx.create_table(
                table["name"],
                fields=table["fields"],
                indexes=table.get("indexes") or None,
                foreign_keys=table.get("foreign_keys") or None,
                checks=table.get("checks") or None,
            )
        elif kind == "drop_table":
            ctx.drop_table(op["name"])
        elif kind == "rename_table":
            ctx.rename_table(op["old_name"], op["new_name"])
        elif kind == "add_column":
            ctx.add_column(op["table"], op["field"])
        elif kind == "drop_column":
            ctx.drop_column(op["table"], op["field"])
        elif kind == "rename_column":
            ctx.rename_column(op["table"], op["old_name"], op["new_name"])
        elif kind == "alter_column":
            column, changes = _alter_changes(op)
            if changes:
                ctx.alter_column(op["table"], column, **changes)
        elif kind == "create_index":
            ctx.create_index(op["table"], op["index"])
        elif kind == "drop_index":
            ctx.drop_index(op["table"], op["name"])
        elif kind == "add_foreign_key":
            fk = op["fk"]
            ctx.add_foreign_key(
                op["table"],
                fk["name"],
                fk["columns"],
                fk["ref_table"],
                fk["ref_columns"],
                on_delete=fk.get("on_delete", "NO ACTION"),
                on_update=fk.get("on_update", "NO ACTION"),
            )
        elif kind == "drop_foreign_key":
            ctx.drop_foreign_key(op["table"], op["name"])
        elif kind == "add_check":
            ctx.add_check(op["table"], op["check"]["name"], op["check"]["expression"])
        elif kind == "drop_check":
            ctx.drop_check(op["table"], op["name"])
        elif kind == "create_enum_type":
            ctx.create_enum_type(op["name"], op["values"])
        elif kind == "drop_enum_type":
            ctx.drop_enum_type(op["name"])
        elif kind == "add_enum_value":
            ctx.add_enum_value(op["name"], op["value"])
        elif kind == "alter_enum_type":
            ctx.alter_enum_type(op["name"], op.get("old_values"), op.get("new_values"))
        elif kind in ("execute", "raw_sql"):
            ctx.execute(op["sql"])
        else:
            raise ValueError(f"unknown migration operation type {kind!r} in {dict(op)!r}")
    finally:
        ctx.public_format = previous


def generate_migration_file(
    operations: Sequence[Mapping[str, Any]],
    migrations_dir: str | Path = "migrations",
    name: str | None = None,
) -> Path:
    """Write the next migration of ``migrations_dir`` from the public Oxyde's operation
    dicts (in this package's file format, with its exact downgrade); its path."""
    folder = Path(migrations_dir)
    migrations = load_migrations(folder)
    leaves = leaf_names(migrations)
    if len(leaves) > 1:
        raise MigrationError(
            f"the migration history has several heads ({', '.join(leaves)}); merge them first"
        )
    old = replay(migrations)
    ctx = MigrationContext(old.copy())
    for op in operations:
        apply_public_operation(ctx, op)
    ops = list(ctx.operations)
    file_name = migration_name(next_number(migrations), ops, name=name, first=not migrations)
    source = render_migration(
        ops,
        reverse_operations(old, ops),
        depends_on=leaves[0] if leaves else None,
        description="\n".join(o.describe() for o in ops) or "Empty migration.",
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_name}.py"
    path.write_text(source, encoding="utf-8")
    return path
