"""Migrations: schema snapshots of the models, diffs, migration files and running them.

See ``docs/migrations.md``. The ``oxyde`` command line drives these functions.

Layer: above the core (it reads ``oxyde.meta`` and runs DDL through ``oxyde.db`` and the
backends); beside ``codegen`` and the integrations, none of which it imports.
"""

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.diff import Diff, RenameCandidate, diff_schemas, parse_renames
from oxyde.migrations.errors import MigrationError, MigrationLockError
from oxyde.migrations.executor import (
    MigrationStatus,
    PreflightError,
    Progress,
    RunResult,
    migrate,
    migration_sql,
    migration_status,
    plan_migrations,
)
from oxyde.migrations.lint import LintFinding, lint_migrations
from oxyde.migrations.loader import Migration, load_migrations, replay, resolve_target
from oxyde.migrations.maker import MadeMigration, UndecidedRenamesError, make_migration
from oxyde.migrations.online import OnlineSettings
from oxyde.migrations.operations import Operation, Step
from oxyde.migrations.public import (
    apply_migrations,
    ensure_migrations_table,
    extract_current_schema,
    generate_migration_file,
    get_applied_migrations,
    get_migration_files,
    get_pending_migrations,
    record_migration,
    remove_migration,
    replay_migrations,
    rollback_migration,
    rollback_migrations,
)
from oxyde.migrations.recorder import AppliedMigration, MigrationRecorder
from oxyde.migrations.snapshot import snapshot_models
from oxyde.migrations.squash import SquashResult, squash_migrations
from oxyde.migrations.state import (
    CheckState,
    ColumnState,
    ForeignKeyState,
    IndexState,
    SchemaState,
    TableState,
    UniqueState,
)

__all__ = [
    "AppliedMigration",
    "CheckState",
    "ColumnState",
    "Diff",
    "ForeignKeyState",
    "IndexState",
    "LintFinding",
    "MadeMigration",
    "Migration",
    "MigrationContext",
    "MigrationError",
    "MigrationLockError",
    "MigrationRecorder",
    "MigrationStatus",
    "OnlineSettings",
    "Operation",
    "PreflightError",
    "Progress",
    "RenameCandidate",
    "RunResult",
    "SchemaState",
    "SquashResult",
    "Step",
    "TableState",
    "UndecidedRenamesError",
    "UniqueState",
    "apply_migrations",
    "diff_schemas",
    "ensure_migrations_table",
    "extract_current_schema",
    "generate_migration_file",
    "get_applied_migrations",
    "get_migration_files",
    "get_pending_migrations",
    "lint_migrations",
    "load_migrations",
    "make_migration",
    "migrate",
    "migration_sql",
    "migration_status",
    "parse_renames",
    "plan_migrations",
    "record_migration",
    "remove_migration",
    "replay",
    "replay_migrations",
    "resolve_target",
    "rollback_migration",
    "rollback_migrations",
    "snapshot_models",
    "squash_migrations",
]
