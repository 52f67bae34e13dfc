"""Finding, loading and ordering migration files, and replaying them into a schema."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from oxyde.migrations.context import MigrationContext
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.legacy import is_public_file
from oxyde.migrations.state import SchemaState
from oxyde.sql.dialects.base import Dialect

__all__ = [
    "Migration",
    "leaf_names",
    "load_migrations",
    "next_number",
    "replay",
    "resolve_target",
]

_NAME = re.compile(r"^(\d+)_\w+$")

MigrationFunction = Callable[[MigrationContext], Any]


@dataclass(frozen=True)
class Migration:
    """One loaded migration file."""

    name: str
    path: Path
    depends_on: tuple[str, ...]
    upgrade: MigrationFunction
    downgrade: MigrationFunction
    #: migrations this one stands in for (a squashed history)
    replaces: tuple[str, ...] = ()
    #: ``online = True`` in the file: run in PostgreSQL online mode (no long locks)
    online: bool = False
    #: written by the public Oxyde's generator (see ``oxyde.migrations.legacy``)
    public_format: bool = False

    @property
    def number(self) -> int | None:
        match = _NAME.match(self.name)
        return int(match.group(1)) if match else None

    def run(self, ctx: MigrationContext, *, backwards: bool = False) -> None:
        """Run ``upgrade`` (or ``downgrade``) on ``ctx``, naming this file in errors."""
        function = self.downgrade if backwards else self.upgrade
        ctx.public_format = self.public_format
        try:
            function(ctx)
        except MigrationError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            what = "downgrade" if backwards else "upgrade"
            raise MigrationError(f"{self.name}.{what}: {exc} (in {self.path})") from exc
        finally:
            ctx.public_format = False


def _load_module(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(f"_oxyde_migration_{digest}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot load migration file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"migration {path.name} failed to import: {exc}") from exc
    return module


def _depends(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MigrationError(f"{name}: depends_on must be a migration name, a list of them, or None")


def load_migrations(directory: str | Path) -> list[Migration]:
    """The migrations in ``directory``, dependencies first (ties by name).

    A missing directory has no migrations. Raises ``MigrationError`` for a file without
    ``upgrade``/``downgrade``, a dependency on a missing migration, or a cycle.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    found: dict[str, Migration] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = _load_module(path)
        name = path.stem
        upgrade = getattr(module, "upgrade", None)
        downgrade = getattr(module, "downgrade", None)
        if not callable(upgrade) or not callable(downgrade):
            raise MigrationError(f"{path.name} needs upgrade(ctx) and downgrade(ctx) functions")
        found[name] = Migration(
            name=name,
            path=path,
            depends_on=_depends(getattr(module, "depends_on", None), name),
            upgrade=upgrade,
            downgrade=downgrade,
            replaces=_depends(getattr(module, "replaces", None), name),
            online=getattr(module, "online", False) is True,
            public_format=is_public_file(module),
        )
    for migration in found.values():
        missing = [d for d in migration.depends_on if d not in found]
        if missing:
            raise MigrationError(
                f"{migration.name} depends on {', '.join(missing)}, which is not in {folder}"
            )
    ordered: list[Migration] = []
    done: set[str] = set()
    pending = dict(sorted(found.items()))
    while pending:
        ready = [m for m in pending.values() if all(d in done for d in m.depends_on)]
        if not ready:
            raise MigrationError(
                f"the migrations {', '.join(pending)} depend on each other in a cycle"
            )
        for migration in ready:
            ordered.append(migration)
            done.add(migration.name)
            del pending[migration.name]
    return ordered


def leaf_names(migrations: Sequence[Migration]) -> list[str]:
    """Migrations no other migration depends on (one, in a linear history)."""
    needed = {d for m in migrations for d in m.depends_on}
    return [m.name for m in migrations if m.name not in needed]


def next_number(migrations: Sequence[Migration]) -> int:
    numbers = [m.number for m in migrations if m.number is not None]
    return max(numbers, default=0) + 1


def replay(migrations: Sequence[Migration], *, dialect: Dialect | str = "sqlite") -> SchemaState:
    """The schema after running every migration's ``upgrade`` (no database involved)."""
    ctx = MigrationContext(dialect=dialect)
    for migration in migrations:
        migration.run(ctx)
    return ctx.state


def resolve_target(migrations: Sequence[Migration], target: str) -> str | None:
    """The migration named ``target`` or the only one starting with it; None for "zero"."""
    if target == "zero":
        return None
    names = [m.name for m in migrations]
    if target in names:
        return target
    matches = [n for n in names if n.startswith(target)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise MigrationError(
            f"no migration matches {target!r}; known: {', '.join(names) or 'none'}"
        )
    raise MigrationError(f"{target!r} matches several migrations: {', '.join(matches)}")
