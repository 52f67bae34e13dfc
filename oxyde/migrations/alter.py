"""DDL that changes an existing schema (ALTER), per dialect, from migration schema states.

Each operation gets the schema before and after it (``oxyde.migrations.state``) and
returns SQL statements; the migration executor passes each through
``Dialect.driver_text`` for the driver. Whole tables are rendered by
``oxyde.sql.ddl`` through a ``ModelMeta`` built from the table's state, so a table made by
a migration and one made by ``create_tables`` are the same.

What differs between databases is a class per ALTER style (``DdlStyle.alter``), picked
by ``alter_ddl``: PostgreSQL alters in place (``ALTER COLUMN ... TYPE ... USING`` casts,
enum types and their values), MySQL restates a column with ``MODIFY`` / ``CHANGE``, and
SQLite, which cannot alter a column or add a constraint, rebuilds the table: a new table, the rows
copied, the old one dropped, the new one renamed and its indexes recreated. That needs
foreign-key enforcement suspended for the migration (``suspend_foreign_keys``), and a
foreign-key check before it commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from oxyde.meta.indexes import Check, Index
from oxyde.meta.metadata import Column, ForeignKey, ModelMeta
from oxyde.migrations.state import (
    ColumnState,
    ForeignKeyState,
    SchemaState,
    TableState,
    UniqueState,
)
from oxyde.sql.ddl import (
    IndexDef,
    column_sql,
    column_type,
    create_index_sql,
    create_table_statements,
    ddl_style,
    default_sql,
    drop_table_statements,
    reference_sql,
    short_name,
    string_literal,
)
from oxyde.sql.dialects.base import Dialect

__all__ = ["AlterDdl", "EnumValueSql", "alter_ddl"]


@dataclass(frozen=True)
class EnumValueSql:
    """Statements adding an enum value: ``early`` ones must run (and commit) before the
    migration's transaction so that the value is usable inside it (PostgreSQL)."""

    early: list[str] = field(default_factory=list)
    main: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Ref:
    """Stands in for a model class as the target of a ``ForeignKey``."""

    _db_meta: ModelMeta


class AlterDdl:
    """ALTER statements for one dialect; the base spells what PostgreSQL and MySQL share."""

    #: DDL runs inside a transaction (MySQL commits each DDL statement on its own)
    transactional: ClassVar[bool] = True
    #: changing a column or a constraint rebuilds the table
    rebuilds: ClassVar[bool] = False
    #: foreign keys are not enforced while a migration runs (see the module docstring)
    suspend_foreign_keys: ClassVar[bool] = False
    #: a query listing foreign-key violations, run before a migration commits
    foreign_key_check: ClassVar[str | None] = None
    #: take / release the migration lock; returns one row whose first value is 1 if taken
    lock_sql: ClassVar[str | None] = None
    unlock_sql: ClassVar[str | None] = None

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.style = ddl_style(dialect)
        self.q = dialect.quote_ident

    # -- rendering helpers -----------------------------------------------------------

    def literal(self, value: str) -> str:
        return string_literal(value, self.style)

    def table_sql(self, table: TableState, name: str | None = None) -> str:
        quoted = self.q(name or table.name)
        return f"{self.q(table.schema)}.{quoted}" if table.schema else quoted

    def enum_sql(self, schema: SchemaState, enum: str) -> str:
        """The column type of enum ``enum`` (PostgreSQL type, MySQL ENUM, SQLite TEXT)."""
        values = schema.enums.get(enum)
        if values is None:
            raise ValueError(f"unknown enum type {enum!r}; create it first (create_enum_type)")
        return self.dialect.type_names["enum"].format(
            enum_type=self.q(enum), values=", ".join(self.literal(v) for v in values)
        )

    def column(self, schema: SchemaState, col: ColumnState) -> Column:
        """A model ``Column`` equal to ``col``, for ``oxyde.sql.ddl``."""
        db_type = col.db_type
        if db_type is None and col.enum is not None:
            enum_type = self.enum_sql(schema, col.enum)
            if col.kind == "array":
                template = self.dialect.type_names["array"]
                db_type = template.format(item=enum_type) if "{item}" in template else template
            else:
                db_type = enum_type
        return Column(
            name=col.name,
            column=col.name,
            kind=col.kind,
            python_type=None,
            nullable=col.nullable,
            primary_key=col.primary_key,
            auto_increment=col.auto_increment,
            unique=col.unique,
            max_length=col.max_length,
            max_digits=col.max_digits,
            decimal_places=col.decimal_places,
            db_type=db_type,
            db_default=col.db_default,
            default=col.default,
            has_default=col.default is not None,
            comment=col.comment,
            item_kind=col.item_kind,
            timezone=col.timezone,
        )

    def type_sql(self, schema: SchemaState, col: ColumnState) -> str:
        return column_type(self.column(schema, col), self.dialect)

    def default_sql(self, schema: SchemaState, col: ColumnState) -> str | None:
        return default_sql(self.column(schema, col), self.dialect, self.style)

    def column_def(self, schema: SchemaState, col: ColumnState, *, keys: bool = True) -> str:
        """``"name" TYPE [NOT NULL] [DEFAULT ..] [PRIMARY KEY | UNIQUE]``; without the key
        clauses when ``keys`` is False (restating a column that keeps its keys)."""
        column = self.column(schema, col)
        if not keys:
            column = replace(
                column,
                primary_key=False,
                unique=False,
                db_type=column_type(column, self.dialect),
            )
        return column_sql(column, self.dialect, self.style)

    def _ref_meta(self, schema: SchemaState, key: str) -> ModelMeta:
        table = schema.tables.get(key)
        if table is not None:
            return ModelMeta(model=None, table_name=table.name, schema=table.schema)
        owner, _, name = key.rpartition(".")
        return ModelMeta(model=None, table_name=name, schema=owner or None)

    def foreign_key(self, schema: SchemaState, fk: ForeignKeyState) -> ForeignKey:
        return ForeignKey(
            name=fk.name,
            field_name=fk.column,
            column=fk.column,
            target=_Ref(self._ref_meta(schema, fk.ref_table)),
            target_field=fk.ref_column,
            on_delete=fk.on_delete,
            on_update=fk.on_update,
        )

    def unique_name(self, table_name: str, unique: UniqueState) -> str:
        """The name ``oxyde.sql.ddl`` gives an inline unique constraint."""
        return short_name(f"{table_name}_{'_'.join(unique.columns)}_uniq")

    def meta(
        self,
        schema: SchemaState,
        table: TableState,
        *,
        name: str | None = None,
        indexes: bool = True,
        uniques: list[UniqueState] | None = None,
    ) -> ModelMeta:
        """A ``ModelMeta`` for ``table``; foreign keys ride on their columns (``ddl``
        declares them inline only where the dialect must)."""
        columns = {c.name: self.column(schema, c) for c in table.columns.values()}
        for fk in table.foreign_keys.values():
            col = columns.get(fk.column)
            if col is None:
                raise ValueError(f"foreign key {fk.name!r} names unknown column {fk.column!r}")
            columns[fk.column] = replace(col, fk=self.foreign_key(schema, fk))
        pk = next((c for c in columns.values() if c.primary_key), None)
        return ModelMeta(
            model=None,
            table_name=name or table.name,
            schema=table.schema,
            comment=table.comment,
            columns=columns,
            field_by_column={c: c for c in columns},
            pk=pk,
            indexes=[
                Index(ix.columns, unique=ix.unique, where=ix.where, method=ix.method, name=ix.name)
                for ix in table.indexes.values()
            ]
            if indexes
            else [],
            constraints=[Check(c.expression, name=c.name) for c in table.checks.values()],
            unique_together=[
                u.columns for u in (table.uniques.values() if uniques is None else uniques)
            ],
        )

    def index_sql(self, table: TableState, index_name: str, *, if_not_exists: bool = False) -> str:
        ix = table.indexes[index_name]
        if ix.where and not self.style.partial_indexes:
            raise ValueError(
                f"index {ix.name!r} on {table.key!r}: partial indexes (where=) are not "
                f"supported by {self.dialect.name}"
            )
        meta = ModelMeta(model=None, table_name=table.name, schema=table.schema)
        definition = IndexDef(ix.name, list(ix.columns), ix.unique, ix.where, ix.method)
        return create_index_sql(meta, self.dialect, self.style, definition, if_not_exists)

    # -- tables ----------------------------------------------------------------------

    def create_table(
        self, schema: SchemaState, key: str, *, if_not_exists: bool = False
    ) -> list[str]:
        table = schema.table(key)
        # Unique constraints keep the names the state gives them: inline when that is
        # the name ``ddl`` would derive, else added by name afterwards.
        inline = [u for u in table.uniques.values() if u.name == self.unique_name(table.name, u)]
        named = [u for u in table.uniques.values() if u not in inline]
        if self.rebuilds:
            inline, named = list(table.uniques.values()), []
        meta = self.meta(schema, table, uniques=inline)
        statements = create_table_statements(meta, self.dialect, if_not_exists=if_not_exists)
        for unique in named:
            statements.append(self._add_unique_sql(table, unique))
        if not self.style.inline_foreign_keys:
            statements.extend(
                self._add_foreign_key_sql(schema, table, fk) for fk in table.foreign_keys.values()
            )
        return statements

    def drop_table(self, schema: SchemaState, key: str) -> list[str]:
        meta = self.meta(schema, schema.table(key), indexes=False)
        return drop_table_statements(meta, self.dialect, if_exists=False)

    def rename_table(
        self, before: SchemaState, after: SchemaState, old: str, new: str
    ) -> list[str]:
        table = before.table(old)
        return [f"ALTER TABLE {self.table_sql(table)} RENAME TO {self.q(after.table(new).name)}"]

    # -- columns ---------------------------------------------------------------------

    def add_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        table = after.table(key)
        col = table.column(column)
        statements = [
            f"ALTER TABLE {self.table_sql(table)} ADD COLUMN {self.column_def(after, col)}"
        ]
        statements.extend(self._comment_sql(table, col))
        return statements

    def drop_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        return [f"ALTER TABLE {self.table_sql(before.table(key))} DROP COLUMN {self.q(column)}"]

    def rename_column(
        self, before: SchemaState, after: SchemaState, key: str, old: str, new: str
    ) -> list[str]:
        table = self.table_sql(before.table(key))
        return [f"ALTER TABLE {table} RENAME COLUMN {self.q(old)} TO {self.q(new)}"]

    def alter_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        raise NotImplementedError

    def _comment_sql(self, table: TableState, col: ColumnState) -> list[str]:
        if self.style.comments != "statement" or not col.comment:
            return []
        return [
            f"COMMENT ON COLUMN {self.table_sql(table)}.{self.q(col.name)} IS "
            f"{self.literal(col.comment)}"
        ]

    # -- indexes and constraints -----------------------------------------------------

    def create_index(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return [self.index_sql(after.table(key), name)]

    def drop_index(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        table = before.table(key)
        if table.schema:
            # an index lives in its table's schema (SQLite: its attached database)
            return [f"DROP INDEX {self.q(table.schema)}.{self.q(name)}"]
        return [f"DROP INDEX {self.q(name)}"]

    def _add_foreign_key_sql(
        self, schema: SchemaState, table: TableState, fk: ForeignKeyState
    ) -> str:
        reference = reference_sql(self.foreign_key(schema, fk), self.dialect, self.style)
        return f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {self.q(fk.name)} {reference}"

    def _add_unique_sql(self, table: TableState, unique: UniqueState) -> str:
        columns = ", ".join(self.q(c) for c in unique.columns)
        return (
            f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {self.q(unique.name)} "
            f"UNIQUE ({columns})"
        )

    def _drop_constraint_sql(self, table: TableState, name: str) -> str:
        return f"ALTER TABLE {self.table_sql(table)} DROP CONSTRAINT {self.q(name)}"

    def add_foreign_key(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        table = after.table(key)
        return [self._add_foreign_key_sql(after, table, table.foreign_keys[name])]

    def drop_foreign_key(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return [self._drop_constraint_sql(before.table(key), name)]

    def add_check(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        table = after.table(key)
        check = table.checks[name]
        return [
            f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {self.q(name)} "
            f"CHECK ({check.expression})"
        ]

    def drop_check(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        return [self._drop_constraint_sql(before.table(key), name)]

    def add_unique(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        table = after.table(key)
        return [self._add_unique_sql(table, table.uniques[name])]

    def drop_unique(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return [self._drop_constraint_sql(before.table(key), name)]

    # -- enum types ------------------------------------------------------------------

    def create_enum(self, after: SchemaState, name: str) -> list[str]:
        if not self.style.enum_types:
            return []
        values = ", ".join(self.literal(v) for v in after.enums[name])
        return [f"CREATE TYPE {self.q(name)} AS ENUM ({values})"]

    def drop_enum(self, before: SchemaState, name: str) -> list[str]:
        if not self.style.enum_types:
            return []
        return [f"DROP TYPE {self.q(name)}"]

    def add_enum_value(self, before: SchemaState, after: SchemaState, name: str) -> EnumValueSql:
        return EnumValueSql(main=self._retype_enum_columns(before, after, name))

    def alter_enum(self, before: SchemaState, after: SchemaState, name: str) -> list[str]:
        return self._retype_enum_columns(before, after, name)

    def _retype_enum_columns(self, before: SchemaState, after: SchemaState, name: str) -> list[str]:
        """Restate the columns whose SQL type spells out the enum's values (MySQL)."""
        statements: list[str] = []
        for table, col in after.enum_users(name):
            old = before.tables.get(table.key)
            old_col = old.columns.get(col.name) if old is not None else None
            if old_col is None or self.type_sql(before, old_col) == self.type_sql(after, col):
                continue
            statements.extend(self.alter_column(before, after, table.key, col.name))
        return statements


class PostgresAlter(AlterDdl):
    lock_sql = "SELECT pg_try_advisory_lock(4242424242)"
    unlock_sql = "SELECT pg_advisory_unlock(4242424242)"

    def _using(self, col: ColumnState, old: ColumnState, type_sql: str) -> str:
        """The USING clause of ``ALTER COLUMN ... TYPE``, empty where the assignment
        cast applies: an explicit cast would silently cut a too long VARCHAR value,
        the assignment cast refuses it."""
        name = self.q(col.name)
        if col.enum is not None or old.enum is not None:
            # enums convert through their text (no direct casts between enum types)
            text = "text[]" if col.kind == "array" else "text"
            return f" USING {name}::{text}::{type_sql}"
        if col.kind != old.kind or col.db_type != old.db_type:
            if "bool" in (col.kind, old.kind) and "int" in (col.kind, old.kind):
                # BIGINT and BOOLEAN only cast to each other through INTEGER
                return f" USING {name}::integer::{type_sql}"
            return f" USING {name}::{type_sql}"
        return ""

    def alter_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        table = after.table(key)
        old = before.table(key).column(column)
        new = table.column(column)
        prefix = f"ALTER TABLE {self.table_sql(table)} ALTER COLUMN {self.q(column)}"
        statements: list[str] = []
        old_default = self.default_sql(before, old)
        new_default = self.default_sql(after, new)
        if old.type_signature() != new.type_signature():
            # a serial key keeps its sequence; ALTER ... TYPE takes the plain integer type
            type_sql = self.type_sql(after, replace(new, auto_increment=False))
            if old_default is not None:
                statements.append(f"{prefix} DROP DEFAULT")
            statements.append(f"{prefix} TYPE {type_sql}{self._using(new, old, type_sql)}")
            if new_default is not None:
                statements.append(f"{prefix} SET DEFAULT {new_default}")
        elif old_default != new_default:
            statements.append(
                f"{prefix} DROP DEFAULT"
                if new_default is None
                else f"{prefix} SET DEFAULT {new_default}"
            )
        if old.nullable != new.nullable and not new.primary_key:
            statements.append(f"{prefix} {'DROP' if new.nullable else 'SET'} NOT NULL")
        if old.unique != new.unique:
            if new.unique:
                name = self.q(short_name(f"{table.name}_{column}_key"))
                statements.append(
                    f"ALTER TABLE {self.table_sql(table)} ADD CONSTRAINT {name} "
                    f"UNIQUE ({self.q(column)})"
                )
            else:
                statements.append(self._drop_column_unique(table, column))
        if old.comment != new.comment:
            comment = self.literal(new.comment) if new.comment else "NULL"
            statements.append(
                f"COMMENT ON COLUMN {self.table_sql(table)}.{self.q(column)} IS {comment}"
            )
        return statements

    def _drop_column_unique(self, table: TableState, column: str) -> str:
        # An inline UNIQUE gets a name PostgreSQL chose; find it in the catalog.
        table_sql = self.table_sql(table)
        drop = self.literal(f"ALTER TABLE {table_sql} DROP CONSTRAINT %I")
        return (
            "DO $$DECLARE con text; BEGIN "
            "SELECT c.conname INTO con FROM pg_constraint c "
            f"WHERE c.conrelid = {self.literal(table_sql)}::regclass AND c.contype = 'u' "
            "AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_attribute a "
            f"WHERE a.attrelid = c.conrelid AND a.attname = {self.literal(column)})]; "
            f"IF con IS NOT NULL THEN EXECUTE format({drop}, con); END IF; END$$"
        )

    def add_enum_value(self, before: SchemaState, after: SchemaState, name: str) -> EnumValueSql:
        old = before.enums[name]
        new = after.enums[name]
        early: list[str] = []
        for i, value in enumerate(new):
            if value in old:
                continue
            following = next((v for v in new[i + 1 :] if v in old), None)
            position = f" BEFORE {self.literal(following)}" if following is not None else ""
            early.append(
                f"ALTER TYPE {self.q(name)} ADD VALUE IF NOT EXISTS {self.literal(value)}{position}"
            )
        return EnumValueSql(early=early)

    def alter_enum(self, before: SchemaState, after: SchemaState, name: str) -> list[str]:
        # Values cannot be removed or reordered in place: make a new type, move the
        # columns over through their text, drop the old type. Rows holding a removed
        # value fail the cast, and the migration rolls back.
        old_name = short_name(f"{name}__old")
        statements = [
            f"ALTER TYPE {self.q(name)} RENAME TO {self.q(old_name)}",
            *self.create_enum(after, name),
        ]
        for table, col in after.enum_users(name):
            prefix = f"ALTER TABLE {self.table_sql(table)} ALTER COLUMN {self.q(col.name)}"
            default = self.default_sql(after, col)
            type_sql = self.type_sql(after, col)
            if default is not None:
                statements.append(f"{prefix} DROP DEFAULT")
            statements.append(f"{prefix} TYPE {type_sql}{self._using(col, col, type_sql)}")
            if default is not None:
                statements.append(f"{prefix} SET DEFAULT {default}")
        statements.append(f"DROP TYPE {self.q(old_name)}")
        return statements


class MysqlAlter(AlterDdl):
    transactional = False
    lock_sql = "SELECT GET_LOCK(CONCAT('oxyde_migrations:', DATABASE()), 0)"
    unlock_sql = "SELECT RELEASE_LOCK(CONCAT('oxyde_migrations:', DATABASE()))"

    def rename_column(
        self, before: SchemaState, after: SchemaState, key: str, old: str, new: str
    ) -> list[str]:
        # CHANGE restates the column under its new name, keeping its keys.
        table = after.table(key)
        definition = self.column_def(after, table.column(new), keys=False)
        return [f"ALTER TABLE {self.table_sql(table)} CHANGE COLUMN {self.q(old)} {definition}"]

    def alter_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        table = after.table(key)
        old = before.table(key).column(column)
        new = table.column(column)
        table_sql = self.table_sql(table)
        statements: list[str] = []
        if self.column_def(before, old, keys=False) != self.column_def(after, new, keys=False):
            statements.append(
                f"ALTER TABLE {table_sql} MODIFY COLUMN {self.column_def(after, new, keys=False)}"
            )
        if old.unique != new.unique:
            # an inline UNIQUE is an index named after its column
            if new.unique:
                statements.append(
                    f"ALTER TABLE {table_sql} ADD UNIQUE KEY {self.q(column)} ({self.q(column)})"
                )
            else:
                statements.append(f"ALTER TABLE {table_sql} DROP INDEX {self.q(column)}")
        return statements

    def drop_index(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        return [f"DROP INDEX {self.q(name)} ON {self.table_sql(before.table(key))}"]

    def drop_foreign_key(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return [f"ALTER TABLE {self.table_sql(before.table(key))} DROP FOREIGN KEY {self.q(name)}"]

    def drop_unique(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return [f"ALTER TABLE {self.table_sql(before.table(key))} DROP INDEX {self.q(name)}"]


class SqliteAlter(AlterDdl):
    rebuilds = True
    suspend_foreign_keys = True
    foreign_key_check = "PRAGMA foreign_key_check"

    def rebuild(
        self,
        before: SchemaState,
        after: SchemaState,
        key: str,
        renamed: dict[str, str] | None = None,
    ) -> list[str]:
        """Recreate table ``key`` as ``after`` says, keeping its rows; ``renamed`` maps
        new column names to old ones."""
        old = before.table(key)
        new = after.table(key)
        renamed = renamed or {}
        if not renamed and self._same_ddl(before, old, after, new):
            # e.g. a comment or an enum's values: nothing SQLite stores changes
            return []
        temp = short_name(f"_oxyde_new_{new.name}")
        # Rendered under the real name (constraint names derive from it), then aimed at
        # the temporary table: only the leading table name changes.
        create = create_table_statements(
            self.meta(after, new, indexes=False), self.dialect, if_not_exists=False
        )
        prefix = f"CREATE TABLE {self.table_sql(new)} ("
        if len(create) != 1 or not create[0].startswith(prefix):  # pragma: no cover
            raise AssertionError(f"unexpected CREATE TABLE for a rebuild: {create}")
        statements = [f"CREATE TABLE {self.table_sql(new, temp)} (" + create[0][len(prefix) :]]
        pairs = [
            (name, renamed.get(name, name))
            for name in new.columns
            if renamed.get(name, name) in old.columns
        ]
        if pairs:
            targets = ", ".join(self.q(n) for n, _ in pairs)
            sources = ", ".join(self.q(o) for _, o in pairs)
            statements.append(
                f"INSERT INTO {self.table_sql(new, temp)} ({targets}) "
                f"SELECT {sources} FROM {self.table_sql(old)}"
            )
        statements.append(f"DROP TABLE {self.table_sql(old)}")
        statements.append(f"ALTER TABLE {self.table_sql(new, temp)} RENAME TO {self.q(new.name)}")
        statements.extend(self.index_sql(new, name) for name in new.indexes)
        return statements

    def _same_ddl(
        self, before: SchemaState, old: TableState, after: SchemaState, new: TableState
    ) -> bool:
        if list(old.columns) != list(new.columns):
            return False
        old_sql = create_table_statements(self.meta(before, old), self.dialect)
        new_sql = create_table_statements(self.meta(after, new), self.dialect)
        return old_sql == new_sql

    def add_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        col = after.table(key).column(column)
        # ADD COLUMN cannot add a key, a non-constant default, or a NOT NULL column
        # without a default; those need the table rebuilt.
        simple = (
            not col.primary_key
            and not col.unique
            and col.db_default is None
            and (col.nullable or col.default is not None)
        )
        if simple:
            return super().add_column(before, after, key, column)
        return self.rebuild(before, after, key)

    def drop_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        return self.rebuild(before, after, key)

    def alter_column(
        self, before: SchemaState, after: SchemaState, key: str, column: str
    ) -> list[str]:
        return self.rebuild(before, after, key)

    def add_foreign_key(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return self.rebuild(before, after, key)

    def drop_foreign_key(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return self.rebuild(before, after, key)

    def add_check(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        return self.rebuild(before, after, key)

    def drop_check(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        return self.rebuild(before, after, key)

    def add_unique(self, before: SchemaState, after: SchemaState, key: str, name: str) -> list[str]:
        return self.rebuild(before, after, key)

    def drop_unique(
        self, before: SchemaState, after: SchemaState, key: str, name: str
    ) -> list[str]:
        return self.rebuild(before, after, key)


#: ALTER rules by ``DdlStyle.alter``
_ALTERS: dict[str, type[AlterDdl]] = {
    "in_place": PostgresAlter,
    "restate": MysqlAlter,
    "rebuild": SqliteAlter,
}


def alter_ddl(dialect: Dialect) -> AlterDdl:
    """The ALTER rules of ``dialect`` (``dialect.ddl.alter``)."""
    style = dialect.ddl.alter
    try:
        cls = _ALTERS[style]
    except KeyError:
        raise ValueError(
            f"no ALTER rules {style!r} for dialect {dialect.name!r}; "
            f"known: {', '.join(sorted(_ALTERS))}"
        ) from None
    return cls(dialect)
