"""Writing migration files: the Python source of ``upgrade`` / ``downgrade``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from oxyde.migrations.operations import CreateEnum, CreateTable, Operation
from oxyde.migrations.state import SchemaState

__all__ = ["migration_name", "render_migration", "reverse_operations"]

_MAX_SLUG = 60
_TRIPLE_QUOTE = '"' * 3


def reverse_operations(state: SchemaState, operations: Sequence[Operation]) -> list[Operation]:
    """The operations that undo ``operations`` applied to ``state`` (left unchanged)."""
    work = state.copy()
    undo: list[list[Operation]] = []
    for op in operations:
        undo.append(op.reverse(work))
        op.apply(work)
    return [op for ops in reversed(undo) for op in ops]


def _slug(text: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return slug[:_MAX_SLUG].rstrip("_") or "auto"


def migration_name(
    number: int, operations: Sequence[Operation], *, name: str | None = None, first: bool = False
) -> str:
    """``0003_add_age_to_users``: the number and ``name``, or words from the operations."""
    if name:
        slug = _slug(name)
    elif (
        first and operations and all(isinstance(op, CreateTable | CreateEnum) for op in operations)
    ):
        slug = "initial"
    elif operations:
        slug = _slug(operations[0].name_hint())
        if len(operations) > 1:
            slug = _slug(f"{slug[: _MAX_SLUG - 9]}_and_more")
    else:
        slug = "empty"
    return f"{number:04d}_{slug}"


def _docstring(text: str) -> str:
    # The description quotes user SQL (checks, defaults): keep the docstring valid.
    text = text or "Schema migration."
    return text.replace("\\", "\\\\").replace(_TRIPLE_QUOTE, "'''")


def _body(operations: Sequence[Operation]) -> str:
    if not operations:
        return "    pass\n"
    return "".join(f"    {op.code()}\n" for op in operations)


def render_migration(
    upgrade: Sequence[Operation],
    downgrade: Sequence[Operation],
    *,
    depends_on: str | Sequence[str] | None,
    description: str = "",
    replaces: Sequence[str] = (),
    online: bool = False,
) -> str:
    """The source of a migration file; ``online`` writes ``online = True`` (PostgreSQL
    online mode, see ``oxyde.migrations.online``)."""
    body_up = _body(upgrade)
    body_down = _body(downgrade)
    code = body_up + body_down
    imports = []
    if "datetime." in code:
        imports.append("import datetime")
    if "Decimal(" in code:
        imports.append("from decimal import Decimal")
    if "UUID(" in code:
        imports.append("from uuid import UUID")
    lines = [
        f"{_TRIPLE_QUOTE}{_docstring(description)}",
        "",
        f"Written by `oxyde makemigrations`.{_TRIPLE_QUOTE}",
        "",
    ]
    if imports:
        lines.extend([*imports, ""])
    lines.append("from oxyde.migrations import MigrationContext")
    lines.append("")
    if depends_on is None or isinstance(depends_on, str):
        lines.append(f"depends_on = {depends_on!r}")
    else:
        lines.append(f"depends_on = {list(depends_on)!r}")
    if replaces:
        lines.append(f"replaces = {list(replaces)!r}")
    if online:
        lines.append("# a large table: on PostgreSQL, run without long locks")
        lines.append("online = True")
    lines.extend(["", ""])
    lines.append("def upgrade(ctx: MigrationContext) -> None:")
    source = "\n".join(lines) + "\n" + body_up
    source += "\n\ndef downgrade(ctx: MigrationContext) -> None:\n" + body_down
    return source
