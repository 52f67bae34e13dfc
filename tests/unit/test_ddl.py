"""DDL per dialect from hand-built model metadata; the SQLite DDL also runs on SQLite."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import apsw
import pytest

from oxyde.meta.indexes import Check, Index
from oxyde.meta.metadata import Column, ForeignKey, ModelMeta
from oxyde.sql.ddl import (
    column_type,
    create_table_statements,
    drop_table_statements,
    enum_type_name,
    foreign_key_statements,
)
from oxyde.sql.dialects import MYSQL, POSTGRES, SQLITE
from oxyde.sql.dialects.base import Dialect


class PostStatus(enum.Enum):
    DRAFT = "draft"
    LIVE = "it's live"


def table(name: str, *columns: Column, **options: Any) -> ModelMeta:
    meta = ModelMeta(model=None, table_name=name, **options)
    for column in columns:
        meta.columns[column.name] = column
        meta.field_by_column[column.column] = column.name
        if column.primary_key:
            meta.pk = column
    return meta


def pk() -> Column:
    return Column("id", "id", "int", int, primary_key=True, auto_increment=True)


class Model:
    """Stands for a model class: what a foreign key's ``target`` must offer."""

    def __init__(self, meta: ModelMeta) -> None:
        self._db_meta = meta


AUTHOR = table(
    "author",
    pk(),
    Column("name", "name", "str", str, unique=True, max_length=100),
    Column("email", "email", "str", str, nullable=True, index=True),
    Column("bio", "bio", "str", str, nullable=True, comment="about 'me'"),
    Column(
        "status",
        "status",
        "enum",
        PostStatus,
        enum_cls=PostStatus,
        default=PostStatus.DRAFT,
        has_default=True,
    ),
    comment="writers",
)

POST = table(
    "post",
    pk(),
    Column(
        "author_id",
        "author_id",
        "int",
        int,
        fk=ForeignKey("author", "author_id", "author_id", Model(AUTHOR), "id", on_delete="CASCADE"),
    ),
    Column("title", "title", "str", str, max_length=200, default="untitled", has_default=True),
    indexes=[Index(("title", "author_id"), unique=True, where="title <> ''")],
    constraints=[Check("length(title) > 0"), Check("author_id > 0", name="positive_author")],
    unique_together=[("author_id", "title")],
)


# -- column types ------------------------------------------------------------------------


def col(kind: str, **options: Any) -> Column:
    return Column("f", "f", kind, object, **options)


@pytest.mark.parametrize(
    ("column", "postgres", "sqlite", "mysql"),
    [
        (col("int"), "BIGINT", "INTEGER", "BIGINT"),
        (pk(), "BIGSERIAL", "INTEGER", "BIGINT AUTO_INCREMENT"),
        (col("float"), "DOUBLE PRECISION", "REAL", "DOUBLE"),
        (col("bool"), "BOOLEAN", "INTEGER", "TINYINT(1)"),
        (col("str"), "VARCHAR(255)", "VARCHAR(255)", "VARCHAR(255)"),
        (col("str", max_length=20), "VARCHAR(20)", "VARCHAR(20)", "VARCHAR(20)"),
        (col("bytes"), "BYTEA", "BLOB", "LONGBLOB"),
        (col("datetime"), "TIMESTAMP", "TEXT", "DATETIME(6)"),
        (col("date"), "DATE", "TEXT", "DATE"),
        (col("time"), "TIME", "TEXT", "TIME(6)"),
        (col("timedelta"), "INTERVAL", "INTEGER", "BIGINT"),
        (col("uuid"), "UUID", "TEXT", "CHAR(36)"),
        (col("decimal"), "NUMERIC", "TEXT", "DECIMAL(65,30)"),
        (
            col("decimal", max_digits=10, decimal_places=2),
            "NUMERIC(10,2)",
            "TEXT",
            "DECIMAL(10,2)",
        ),
        (col("decimal", max_digits=8), "NUMERIC(8,0)", "TEXT", "DECIMAL(8,0)"),
        (col("json"), "JSONB", "TEXT", "JSON"),
        (col("array", item_kind="int", item_type=int), "BIGINT[]", "TEXT", "JSON"),
        (col("array", item_kind="str", item_type=str), "VARCHAR(255)[]", "TEXT", "JSON"),
        (
            col("array", item_kind="enum", item_type=PostStatus),
            '"post_status_enum"[]',
            "TEXT",
            "JSON",
        ),
        (
            col("enum", enum_cls=PostStatus),
            '"post_status_enum"',
            "TEXT",
            "ENUM('draft', 'it''s live')",
        ),
        (col("any"), "TEXT", "TEXT", "TEXT"),
        # db_type wins over everything
        (col("datetime", db_type="TIMESTAMPTZ"), "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ"),
    ],
)
def test_column_type(column: Column, postgres: str, sqlite: str, mysql: str) -> None:
    assert column_type(column, POSTGRES, "post_status_enum") == postgres
    assert column_type(column, SQLITE) == sqlite
    assert column_type(column, MYSQL) == mysql


@pytest.mark.parametrize(
    ("table", "column", "schema", "expected"),
    [
        ("author", "status", None, "author_status_enum"),
        ("author", "status", "app", "app_author_status_enum"),
    ],
)
def test_enum_type_name(table: str, column: str, schema: str | None, expected: str) -> None:
    # one type per table and column: two models' enums of one class name never collide
    assert enum_type_name(table, column, schema) == expected


def test_long_enum_type_names_are_shortened_distinctly() -> None:
    a, b = enum_type_name("t" * 60, "a"), enum_type_name("t" * 60, "b")
    assert len(a) <= 63 and len(b) <= 63 and a != b


def test_enum_column_without_its_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="enum type is needed"):
        column_type(col("enum", enum_cls=PostStatus), POSTGRES)


# -- CREATE TABLE ------------------------------------------------------------------------


def test_postgres_create() -> None:
    assert create_table_statements(AUTHOR, POSTGRES) == [
        "DO $$ BEGIN CREATE TYPE \"author_status_enum\" AS ENUM ('draft', 'it''s live'); "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        'CREATE TABLE IF NOT EXISTS "author" ("id" BIGSERIAL PRIMARY KEY, '
        '"name" VARCHAR(100) NOT NULL UNIQUE, "email" VARCHAR(255), "bio" VARCHAR(255), '
        '"status" "author_status_enum" NOT NULL DEFAULT \'draft\')',
        "COMMENT ON TABLE \"author\" IS 'writers'",
        "COMMENT ON COLUMN \"author\".\"bio\" IS 'about ''me'''",
        'CREATE INDEX IF NOT EXISTS "author_email_idx" ON "author" ("email")',
    ]
    assert create_table_statements(POST, POSTGRES, if_not_exists=False) == [
        'CREATE TABLE "post" ("id" BIGSERIAL PRIMARY KEY, "author_id" BIGINT NOT NULL, '
        "\"title\" VARCHAR(200) NOT NULL DEFAULT 'untitled', "
        'CONSTRAINT "post_author_id_title_uniq" UNIQUE ("author_id", "title"), '
        'CONSTRAINT "chk_post_1" CHECK (length(title) > 0), '
        'CONSTRAINT "positive_author" CHECK (author_id > 0))',
        'CREATE UNIQUE INDEX "post_title_author_id_idx" ON "post" ("title", "author_id") '
        "WHERE title <> ''",
    ]


def test_sqlite_create() -> None:
    assert create_table_statements(AUTHOR, SQLITE) == [
        'CREATE TABLE IF NOT EXISTS "author" ("id" INTEGER PRIMARY KEY, '
        '"name" VARCHAR(100) NOT NULL UNIQUE, "email" VARCHAR(255), "bio" VARCHAR(255), '
        "\"status\" TEXT NOT NULL DEFAULT 'draft')",
        'CREATE INDEX IF NOT EXISTS "author_email_idx" ON "author" ("email")',
    ]
    # foreign keys are inline: SQLite cannot add them to an existing table
    assert create_table_statements(POST, SQLITE)[0] == (
        'CREATE TABLE IF NOT EXISTS "post" ("id" INTEGER PRIMARY KEY, '
        '"author_id" INTEGER NOT NULL, "title" VARCHAR(200) NOT NULL DEFAULT \'untitled\', '
        'CONSTRAINT "post_author_id_title_uniq" UNIQUE ("author_id", "title"), '
        'CONSTRAINT "chk_post_1" CHECK (length(title) > 0), '
        'CONSTRAINT "positive_author" CHECK (author_id > 0), '
        'FOREIGN KEY ("author_id") REFERENCES "author" ("id") ON DELETE CASCADE ON UPDATE CASCADE)'
    )


def test_mysql_create() -> None:
    # indexes and comments are inline, so CREATE TABLE IF NOT EXISTS covers them too
    assert create_table_statements(AUTHOR, MYSQL) == [
        "CREATE TABLE IF NOT EXISTS `author` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, "
        "`name` VARCHAR(100) NOT NULL UNIQUE, `email` VARCHAR(255), "
        "`bio` VARCHAR(255) COMMENT 'about ''me''', "
        "`status` ENUM('draft', 'it''s live') NOT NULL DEFAULT 'draft', "
        "KEY `author_email_idx` (`email`)) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='writers'"
    ]


def test_mysql_refuses_partial_indexes() -> None:
    with pytest.raises(ValueError, match="partial indexes"):
        create_table_statements(POST, MYSQL)


def test_index_method_only_on_postgres() -> None:
    meta = table(
        "doc",
        pk(),
        Column("data", "data", "json", dict, index=True, index_method="gin"),
        indexes=[Index(("data",), method="hash", name="doc_by_data")],
    )
    assert create_table_statements(meta, POSTGRES)[1:] == [
        'CREATE INDEX IF NOT EXISTS "doc_data_idx" ON "doc" USING gin ("data")',
        'CREATE INDEX IF NOT EXISTS "doc_by_data" ON "doc" USING hash ("data")',
    ]
    assert create_table_statements(meta, SQLITE)[1:] == [
        'CREATE INDEX IF NOT EXISTS "doc_data_idx" ON "doc" ("data")',
        'CREATE INDEX IF NOT EXISTS "doc_by_data" ON "doc" ("data")',
    ]


def test_unique_and_primary_key_columns_get_no_extra_index() -> None:
    meta = table(
        "u",
        Column("code", "code", "str", str, primary_key=True, index=True),
        Column("slug", "slug", "str", str, unique=True, index=True, db_type="TEXT"),
    )
    assert create_table_statements(meta, SQLITE) == [
        'CREATE TABLE IF NOT EXISTS "u" ("code" VARCHAR(255) NOT NULL PRIMARY KEY, '
        '"slug" TEXT NOT NULL UNIQUE)'
    ]


def test_schema_qualified_tables() -> None:
    meta = table("t", pk(), Column("a", "a", "int", int, index=True), schema="app")
    assert create_table_statements(meta, POSTGRES) == [
        'CREATE TABLE IF NOT EXISTS "app"."t" ("id" BIGSERIAL PRIMARY KEY, "a" BIGINT NOT NULL)',
        'CREATE INDEX IF NOT EXISTS "t_a_idx" ON "app"."t" ("a")',
    ]
    # SQLite names the schema on the index, not on its table
    assert create_table_statements(meta, SQLITE)[1] == (
        'CREATE INDEX IF NOT EXISTS "app"."t_a_idx" ON "t" ("a")'
    )
    assert drop_table_statements(meta, POSTGRES) == ['DROP TABLE IF EXISTS "app"."t" CASCADE']


def test_identifiers_are_quoted() -> None:
    meta = table('we"ird', pk(), Column("a", 'c"ol', "int", int, comment="x"))
    assert create_table_statements(meta, POSTGRES) == [
        'CREATE TABLE IF NOT EXISTS "we""ird" '
        '("id" BIGSERIAL PRIMARY KEY, "c""ol" BIGINT NOT NULL)',
        'COMMENT ON COLUMN "we""ird"."c""ol" IS \'x\'',
    ]


def test_long_generated_names_are_shortened_not_cut() -> None:
    long = "x" * 70
    meta = table(
        "t", pk(), Column(long, long, "int", int, index=True), Column("y", "y", "int", int)
    )
    first = create_table_statements(meta, POSTGRES)[1]
    name = first.split('"')[1]
    assert len(name) == 63 and name.startswith("t_xxx")
    # two names that only differ past the limit stay different
    meta.columns[long].column = long + "2"
    assert create_table_statements(meta, POSTGRES)[1].split('"')[1] != name


@pytest.mark.parametrize(
    ("kind", "value", "postgres", "sqlite", "mysql"),
    [
        ("int", 5, "5", "5", "5"),
        ("float", 1.5, "1.5", "1.5", "1.5"),
        ("bool", False, "FALSE", "0", "0"),
        ("str", "it's \\", "'it''s \\'", "'it''s \\'", "'it''s \\\\'"),
        ("decimal", Decimal("1.50"), "1.50", "'1.50'", "1.50"),
        ("date", date(2024, 1, 2), "'2024-01-02'", "'2024-01-02'", "'2024-01-02'"),
        (
            "datetime",
            datetime(2024, 1, 2, 3, 4, 5),
            "'2024-01-02 03:04:05'",
            "'2024-01-02 03:04:05'",
            "'2024-01-02 03:04:05'",
        ),
        ("timedelta", timedelta(seconds=2), "'2000000 microseconds'", "2000000", "2000000"),
        (
            "uuid",
            uuid.UUID(int=1),
            "'00000000-0000-0000-0000-000000000001'",
            "'00000000-0000-0000-0000-000000000001'",
            "'00000000-0000-0000-0000-000000000001'",
        ),
        ("bytes", b"\x00\xff", "'\\x00ff'", "X'00ff'", "(X'00ff')"),
        ("json", {"a": 1}, "'{\"a\":1}'", "'{\"a\":1}'", "('{\"a\":1}')"),
    ],
)
def test_constant_defaults(kind: str, value: Any, postgres: str, sqlite: str, mysql: str) -> None:
    column = Column("f", "f", kind, object, default=value, has_default=True, db_type="X")
    got = []
    for dialect in (POSTGRES, SQLITE, MYSQL):
        statement = create_table_statements(table("t", column), dialect)[-1]
        got.append(statement.split(" DEFAULT ", 1)[1].rsplit(")", 1)[0])
    assert got == [postgres, sqlite, mysql]


def test_no_default_for_factories_and_none() -> None:
    columns = [
        Column("a", "a", "json", dict, nullable=True, default=None, has_default=True),
        Column("b", "b", "any", object, default=object(), has_default=True),
        Column("c", "c", "int", int, default=3, has_default=False),
    ]
    statement = create_table_statements(table("t", *columns), SQLITE)[0]
    assert "DEFAULT" not in statement


def test_percent_signs_follow_the_placeholder_style() -> None:
    # DDL is SQL; the MySQL driver formats every statement, so the dialect's driver_text
    # (the one place that escaping happens) writes a literal % as %%
    meta = table(
        "t%",
        Column("a", "a", "str", str, comment="100%", default="5%", has_default=True),
        constraints=[Check("a LIKE '%x'")],
    )
    (create,) = create_table_statements(meta, MYSQL)
    assert create == (
        "CREATE TABLE IF NOT EXISTS `t%` (`a` VARCHAR(255) NOT NULL DEFAULT '5%' "
        "COMMENT '100%', CONSTRAINT `chk_t%_1` CHECK (a LIKE '%x')) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    assert MYSQL.driver_text(create) == (
        "CREATE TABLE IF NOT EXISTS `t%%` (`a` VARCHAR(255) NOT NULL DEFAULT '5%%' "
        "COMMENT '100%%', CONSTRAINT `chk_t%%_1` CHECK (a LIKE '%%x')) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    assert drop_table_statements(meta, MYSQL) == ["DROP TABLE IF EXISTS `t%`"]
    sqlite_create = create_table_statements(meta, SQLITE)[0]
    assert sqlite_create.startswith('CREATE TABLE IF NOT EXISTS "t%"')
    assert SQLITE.driver_text(sqlite_create) == sqlite_create


def test_db_default_is_verbatim() -> None:
    column = Column(
        "at",
        "at",
        "datetime",
        datetime,
        db_default="CURRENT_TIMESTAMP",
        default=1,
        has_default=True,
    )
    assert "DEFAULT CURRENT_TIMESTAMP" in create_table_statements(table("t", column), POSTGRES)[0]


# -- foreign keys and DROP ---------------------------------------------------------------


def test_foreign_keys() -> None:
    assert foreign_key_statements(POST, POSTGRES) == [
        'ALTER TABLE "post" ADD CONSTRAINT "fk_post_author_id" FOREIGN KEY ("author_id") '
        'REFERENCES "author" ("id") ON DELETE CASCADE ON UPDATE CASCADE'
    ]
    assert foreign_key_statements(POST, MYSQL) == [
        "ALTER TABLE `post` ADD CONSTRAINT `fk_post_author_id` FOREIGN KEY (`author_id`) "
        "REFERENCES `author` (`id`) ON DELETE CASCADE ON UPDATE CASCADE"
    ]
    assert foreign_key_statements(POST, SQLITE) == []
    assert foreign_key_statements(AUTHOR, POSTGRES) == []


def test_unknown_foreign_key_action_is_refused() -> None:
    fk = ForeignKey("a", "a_id", "a_id", Model(AUTHOR), "id", on_delete="EXPLODE")
    meta = table("x", pk(), Column("a_id", "a_id", "int", int, fk=fk))
    with pytest.raises(ValueError, match="unknown action 'EXPLODE'"):
        foreign_key_statements(meta, POSTGRES)


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (POSTGRES, ['DROP TABLE IF EXISTS "post" CASCADE']),
        (SQLITE, ['DROP TABLE IF EXISTS "post"']),
        (MYSQL, ["DROP TABLE IF EXISTS `post`"]),
    ],
    ids=lambda v: v.name if isinstance(v, Dialect) else "",
)
def test_drop(dialect: Dialect, expected: list[str]) -> None:
    assert drop_table_statements(POST, dialect) == expected


def test_unknown_index_field_names_the_choices() -> None:
    meta = table("t", pk(), indexes=[Index(("nope",))])
    with pytest.raises(ValueError, match="unknown field 'nope'; fields: id"):
        create_table_statements(meta, SQLITE)


# -- on a real SQLite --------------------------------------------------------------------


def test_sqlite_ddl_runs_twice_and_enforces_what_it_declares() -> None:
    db = apsw.Connection(":memory:")
    db.execute("PRAGMA foreign_keys = ON")
    for _ in range(2):  # idempotent
        for meta in (AUTHOR, POST):
            for statement in create_table_statements(meta, SQLITE):
                db.execute(statement)
    (author_id,) = db.execute("INSERT INTO author (name) VALUES ('ann') RETURNING id").fetchone()
    assert author_id == 1
    assert db.execute("SELECT status FROM author").fetchall() == [("draft",)]
    db.execute("INSERT INTO post (author_id, title) VALUES (?, 'a')", (author_id,))
    with pytest.raises(apsw.ConstraintError):
        db.execute("INSERT INTO post (author_id, title) VALUES (99, 'b')")  # foreign key
    with pytest.raises(apsw.ConstraintError):
        db.execute("INSERT INTO post (author_id, title) VALUES (?, 'a')", (author_id,))  # unique
    with pytest.raises(apsw.ConstraintError):
        db.execute("INSERT INTO post (author_id, title) VALUES (?, '')", (author_id,))  # check
    db.execute("DELETE FROM author")
    assert db.execute("SELECT count(*) FROM post").fetchone() == (0,)  # ON DELETE CASCADE
    for meta in (POST, AUTHOR):
        for statement in drop_table_statements(meta, SQLITE):
            db.execute(statement)
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
