"""``make_migration``: write the next migration file from the difference between the
schema the existing migrations build and the schema the models ask for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.diff import Decide, RenameCandidate, diff_schemas
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.loader import leaf_names, load_migrations, next_number, replay
from oxyde.migrations.operations import Operation
from oxyde.migrations.snapshot import snapshot_models
from oxyde.migrations.writer import migration_name, render_migration, reverse_operations

__all__ = ["MadeMigration", "UndecidedRenamesError", "make_migration"]


class UndecidedRenamesError(MigrationError):
    """The models drop and add similar tables or columns and nobody said whether those
    are renames; ``candidates`` lists them."""

    def __init__(self, candidates: Sequence[RenameCandidate]) -> None:
        self.candidates = list(candidates)
        listed = "; ".join(c.label() for c in self.candidates)
        flags = " ".join(f"--rename {c.flag()}" for c in self.candidates)
        super().__init__(
            f"possible rename(s): {listed}. Pass {flags} to rename (keeping the data), "
            "or --no-renames to drop and add"
        )


@dataclass
class MadeMigration:
    name: str
    path: Path
    operations: list[Operation] = field(default_factory=list)
    source: str = ""
    written: bool = False


def make_migration(
    directory: str | Path,
    *,
    models: Iterable[type[Any]] | None = None,
    name: str | None = None,
    renames: dict[str, str] | None = None,
    decide: Decide | None = None,
    dry_run: bool = False,
    empty: bool = False,
    dialect: str | None = None,
    online_when: Callable[[Sequence[Operation]], bool] | None = None,
) -> MadeMigration | None:
    """Write the migration that brings the history in ``directory`` to the models (all
    registered table models by default). None when nothing changed (unless ``empty``).

    Raises ``UndecidedRenamesError`` when a likely rename was neither confirmed in
    ``renames`` nor answered by ``decide``. With ``dialect``, the migration's SQL is
    rendered for it first, so what that database cannot do fails now, not at deploy.
    ``online_when(operations)`` True writes ``online = True`` in the file.
    """
    folder = Path(directory)
    migrations = load_migrations(folder)
    leaves = leaf_names(migrations)
    if len(leaves) > 1:
        raise MigrationError(
            f"the migration history has several heads ({', '.join(leaves)}); write a merge "
            f"migration with depends_on = {leaves!r} and empty upgrade/downgrade first"
        )
    old = replay(migrations)
    new = snapshot_models(models)
    diff = diff_schemas(old, new, renames=renames, decide=decide)
    if diff.undecided:
        raise UndecidedRenamesError(diff.undecided)
    operations = diff.operations
    if not operations and not empty:
        return None
    if dialect is not None:
        ctx = MigrationContext(old.copy(), dialect=dialect, sql=True)
        for op in operations:
            try:
                ctx.run(op)
            except ValueError as exc:
                raise MigrationError(f"{op.describe()}: {exc}") from exc
    number = next_number(migrations)
    file_name = migration_name(number, operations, name=name, first=not migrations)
    source = render_migration(
        operations,
        reverse_operations(old, operations),
        depends_on=leaves[0] if leaves else None,
        description="\n".join(op.describe() for op in operations) or "Empty migration.",
        online=online_when is not None and bool(operations) and online_when(operations),
    )
    path = folder / f"{file_name}.py"
    made = MadeMigration(file_name, path, list(operations), source)
    if not dry_run:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        made.written = True
    return made
