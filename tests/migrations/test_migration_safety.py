"""Migrations on a database that holds rows, through the ``oxyde`` command on every
backend: pre-flight checks, ``makemigrations --check``, resuming or undoing a migration
that stopped part-way, and ``lint-migrations``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from oxyde.queries import execute_raw
from tests.migrations.clikit import columns, project, recorded, rows, run, write

INITIAL = """\
ctx.create_table("mg_author", fields=[
    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
    {"name": "name", "kind": "str", "max_length": 50},
])
ctx.create_table("mg_post", fields=[
    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
    {"name": "title", "kind": "str", "max_length": 50, "nullable": True},
    {"name": "code", "kind": "str", "max_length": 10},
    {"name": "qty", "kind": "str", "max_length": 10},
    {"name": "score", "kind": "int"},
    {"name": "author_id", "kind": "int", "nullable": True},
])
"""

TIGHTEN = """\
ctx.add_column("mg_post", {"name": "extra", "kind": "int", "nullable": True})
ctx.alter_column("mg_post", "title", max_length=20, nullable=False)
ctx.alter_column("mg_post", "qty", kind="int", max_length=None)
ctx.create_index("mg_post", {"name": "mg_post_code_uniq", "columns": ["code"], "unique": True})
ctx.add_foreign_key("mg_post", "fk_mg_post_author", "author_id", "mg_author", "id")
ctx.add_check("mg_post", "mg_post_score_ck", "score >= 0")
"""

LOOSEN = """\
ctx.drop_check("mg_post", "mg_post_score_ck")
ctx.drop_foreign_key("mg_post", "fk_mg_post_author")
ctx.drop_index("mg_post", "mg_post_code_uniq")
ctx.alter_column("mg_post", "qty", kind="str", max_length=10)
ctx.alter_column("mg_post", "title", max_length=50, nullable=True)
ctx.drop_column("mg_post", "extra")
"""

POSTS = [
    # (title, code, qty, score, author_id)
    ("x" * 40, "a", "1", 1, 1),  # title too long
    (None, "b", "2", 2, 1),  # NULL title
    ("ok", "c", "abc", 3, 1),  # qty not an integer
    ("ok", "d", "4", 4, 99),  # no author 99
    ("ok", "d", "5", -5, 1),  # code d twice, score fails the check
]


async def insert_posts(database: Any) -> None:
    await execute_raw("INSERT INTO mg_author (name) VALUES ('ann')", client=database)
    for title, code, qty, score, author in POSTS:
        title_sql = "NULL" if title is None else f"'{title}'"
        await execute_raw(
            "INSERT INTO mg_post (title, code, qty, score, author_id) VALUES "
            f"({title_sql}, '{code}', '{qty}', {score}, {author})",
            client=database,
        )


async def test_preflight_refuses_before_any_statement_runs(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(
        folder,
        "0001_initial",
        INITIAL,
        'ctx.drop_table("mg_post")\nctx.drop_table("mg_author")',
        None,
    )
    write(folder, "0002_tighten", TIGHTEN, LOOSEN, "0001_initial")
    first = await run(folder, "migrate", "0001")
    assert first.returncode == 0, first.stderr
    await insert_posts(db)

    refused = await run(folder, "migrate")
    assert refused.returncode == 1
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1
    assert message.startswith("Error: 0002_tighten: pre-flight check failed, nothing of it ran")
    for problem in (
        "1 row of mg_post whose title is longer than 20 characters",
        "1 row of mg_post whose title is NULL",
        "1 row of mg_post whose qty is not an integer",
        "2 rows of mg_post that share their code (unique index mg_post_code_uniq)",
        "1 row of mg_post whose author_id has no match in mg_author.id",
        "1 row of mg_post failing check mg_post_score_ck",
    ):
        assert problem in message, message
    assert "--no-preflight" in message
    # nothing ran: not the column the migration adds first, not the record
    assert "extra" not in await columns(db, "mg_post")
    assert await recorded(db) == [("0001_initial", None)]

    # each problem comes with a query that lists the rows
    queries = dict(
        re.findall(
            r"(\d+ rows? of mg_post [^,]*?)(?: \([^)]*\))?, find them with: "
            r"(SELECT .*?)(?=; \d+ |\. Fix)",
            message,
        )
    )
    assert len(queries) == 6, queries
    for problem, sql in queries.items():
        found = await rows(db, sql)
        assert found, (problem, sql)
    orphan = next(sql for p, sql in queries.items() if "author_id" in p)
    assert [r["author_id"] for r in await rows(db, orphan)] == [99]

    # --no-preflight leaves it to the database, and says so
    unchecked = await run(folder, "migrate", "--no-preflight")
    assert "pre-flight checks skipped (--no-preflight)" in unchecked.stdout
    if backend_name != "mysql":
        # (MySQL may take some of it: a failure part-way is covered elsewhere)
        assert unchecked.returncode == 1
        assert await recorded(db) == [("0001_initial", None)]
        assert "extra" not in await columns(db, "mg_post")
    else:
        await execute_raw("DELETE FROM oxyde_migrations WHERE name = '0002_tighten'", client=db)
        await execute_raw("DROP TABLE mg_post", client=db)
        await execute_raw("DELETE FROM oxyde_migrations", client=db)
        await execute_raw("DROP TABLE mg_author", client=db)
        assert (await run(folder, "migrate", "0001")).returncode == 0
        await insert_posts(db)

    # once the rows are fixed the migration runs
    await execute_raw(
        "UPDATE mg_post SET title = 'short' WHERE title IS NULL OR title <> 'ok'", client=db
    )
    await execute_raw("UPDATE mg_post SET qty = '3' WHERE qty = 'abc'", client=db)
    await execute_raw(
        "UPDATE mg_post SET author_id = 1, code = 'e', score = 5 WHERE score < 0", client=db
    )
    await execute_raw("UPDATE mg_post SET author_id = 1 WHERE author_id = 99", client=db)
    done = await run(folder, "migrate")
    assert done.returncode == 0, done.stderr
    assert "Applying 0002_tighten... OK" in done.stdout
    assert "extra" in await columns(db, "mg_post")

    # the way back widens: nothing to check, and it runs
    back = await run(folder, "migrate", "0001")
    assert back.returncode == 0, back.stderr
    assert "extra" not in await columns(db, "mg_post")


MODEL_V1 = """\
from oxyde import Field, Model


class MgAuthor(Model):
    id: int | None = Field(default=None, db_pk=True)
    name: str = Field(max_length=100)

    class Meta:
        is_table = True
        table_name = "mg_author"
"""


async def test_makemigrations_check_fails_while_models_and_migrations_differ(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    folder = project(tmp_path, backend_name, database_url, MODEL_V1)
    pending = await run(folder, "makemigrations", "--check")
    assert pending.returncode == 1
    assert "Create table mg_author" in pending.stdout
    assert "the models and the migrations differ" in pending.stderr
    assert not list((folder / "migrations").glob("*.py"))

    made = await run(folder, "makemigrations", "--no-stubs")
    assert made.returncode == 0, made.stderr
    clean = await run(folder, "makemigrations", "--check")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip() == "No changes detected."

    (folder / "mg_safety_models.py").write_text(MODEL_V1.replace("100", "150"))
    changed = await run(folder, "makemigrations", "--check", "--dry-run")
    assert changed.returncode == 1
    assert "Alter column mg_author.name (max_length=150)" in changed.stdout
    assert "def downgrade(ctx: MigrationContext) -> None:" in changed.stdout
    assert len(list((folder / "migrations").glob("*.py"))) == 1


AUTHOR_TABLE = """\
ctx.create_table("mg_author", fields=[
    {"name": "id", "kind": "int", "primary_key": True, "auto_increment": True},
    {"name": "name", "kind": "str", "max_length": 100},
])
"""

WIDEN = """\
ctx.add_column("mg_author", {"name": "a", "kind": "int", "nullable": True})
ctx.add_column("mg_author", {"name": "b", "kind": "int", "nullable": True})
ctx.alter_column("mg_author", "name", max_length=150)
ctx.add_column("mg_author", {"name": "c", "kind": "int", "nullable": True})
"""

NARROW = """\
ctx.drop_column("mg_author", "c")
ctx.drop_column("mg_author", "b")
ctx.drop_column("mg_author", "a")
ctx.alter_column("mg_author", "name", max_length=100)
"""


async def test_a_migration_stopped_part_way_is_continued_or_undone(
    mg_database: Any, database_url: str, backend_name: str, tmp_path: Path
) -> None:
    db = mg_database
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_author", AUTHOR_TABLE, 'ctx.drop_table("mg_author")', None)
    write(folder, "0002_widen", WIDEN, NARROW, "0001_author")
    assert (await run(folder, "migrate")).returncode == 0
    await execute_raw(f"INSERT INTO mg_author (name) VALUES ('{'n' * 140}')", client=db)

    # the checks refuse the downgrade before it drops anything
    refused = await run(folder, "migrate", "zero")
    assert refused.returncode == 1
    assert "1 row of mg_author whose name is longer than 100 characters" in refused.stderr
    assert {"a", "b", "c"} <= await columns(db, "mg_author")

    # without them the database decides
    failed = await run(folder, "migrate", "zero", "--no-preflight")
    if backend_name == "sqlite":
        # SQLite does not hold a VARCHAR to its length: the long name stays as it was
        assert failed.returncode == 0, failed.stderr
        assert await recorded(db) == []
        return
    assert failed.returncode == 1
    assert "0002_widen failed" in failed.stderr
    if backend_name != "mysql":
        # rolled back as one transaction: nothing to continue or undo
        assert {"a", "b", "c"} <= await columns(db, "mg_author")
        assert await recorded(db) == [("0001_author", None), ("0002_widen", None)]
        nothing = await run(folder, "migrate", "--undo-partial")
        assert nothing.returncode == 1
        assert "no migration stopped part-way" in nothing.stderr
    else:
        # MySQL committed the three drops: the record says so, and where it stopped
        assert not {"a", "b", "c"} & await columns(db, "mg_author")
        shown = await run(folder, "showmigrations")
        assert "[!] 0002_widen  partial: downgrade 3/4" in shown.stdout
        # going the other way is refused, with both ways out named
        other = await run(folder, "migrate")
        assert other.returncode == 1
        assert "stopped part-way in its downgrade (statement 4 of 4 failed)" in other.stderr
        assert "--undo-partial" in other.stderr

        # undo: the three drops reversed, newest first, each shown before it runs
        undone = await run(folder, "migrate", "--undo-partial")
        assert undone.returncode == 0, undone.stderr
        shown_sql = [line for line in undone.stdout.splitlines() if "running:" in line]
        assert len(shown_sql) == 3
        assert [line.split("ADD COLUMN ")[1].split()[0] for line in shown_sql] == [
            "`a`",
            "`b`",
            "`c`",
        ]
        assert "Reversed 3 statement(s)." in undone.stdout
        assert {"a", "b", "c"} <= await columns(db, "mg_author")
        assert await recorded(db) == [("0001_author", None), ("0002_widen", None)]
        again = await run(folder, "migrate", "zero", "--no-preflight")
        assert again.returncode == 1
        partial = dict(await recorded(db))["0002_widen"]
        assert partial.startswith("downgrade 3/4 ")

    # the cause fixed, the same command goes on (MySQL: from the statement that failed)
    await execute_raw("UPDATE mg_author SET name = 'short'", client=db)
    done = await run(folder, "migrate", "zero")
    assert done.returncode == 0, done.stderr
    if backend_name == "mysql":
        assert "continuing from statement 4 of 4 (the first 3 ran before it stopped)" in (
            done.stdout
        )
    assert "Unapplying 0002_widen... OK" in done.stdout
    assert "Unapplying 0001_author... OK" in done.stdout
    assert await recorded(db) == []


RISKY = """\
ctx.add_column("mg_post", {"name": "token", "kind": "str", "nullable": True,
                           "db_default": "random()"})
ctx.add_column("mg_post", {"name": "must", "kind": "int"})
ctx.alter_column("mg_post", "score", kind="str", max_length=20)
ctx.alter_column("mg_post", "title", nullable=False)
ctx.create_index("mg_post", {"name": "mg_post_code_idx", "columns": ["code"]})
ctx.add_foreign_key("mg_post", "fk_mg_post_author", "author_id", "mg_author", "id")
ctx.add_check("mg_post", "mg_post_qty_ck", "qty <> ''")
ctx.rename_column("mg_post", "code", "slug")
"""

#: the rules each backend flags for RISKY, in its order
EXPECTED_RULES = {
    "postgres": [
        "adding-field-with-volatile-default",
        "adding-required-field",
        "changing-column-type",
        "setting-not-null",
        "require-concurrent-index-creation",
        "constraint-missing-not-valid",
        "constraint-missing-not-valid",
        "renaming-column",
    ],
    "mysql": [
        "adding-field-with-volatile-default",
        "adding-required-field",
        "changing-column-type",
        "constraint-missing-not-valid",
        "constraint-missing-not-valid",
        "renaming-column",
    ],
    "sqlite": [
        "adding-field-with-volatile-default",
        "adding-required-field",
        "table-rebuild",
        "table-rebuild",
        "table-rebuild",
        "table-rebuild",
        "renaming-column",
    ],
}


async def test_lint_migrations_names_what_locks_with_the_safe_way(
    database_url: str, backend_name: str, tmp_path: Path
) -> None:
    folder = project(tmp_path, backend_name, database_url)
    write(folder, "0001_initial", INITIAL, "pass", None)
    write(folder, "0002_risky", RISKY, "pass", "0001_initial")

    # new tables are empty: creating them is never flagged
    first = await run(folder, "lint-migrations", "0001")
    assert first.returncode == 0, first.stderr
    assert f"No locking operations found on {backend_name} (1 migration(s))." in first.stdout

    found = await run(folder, "lint-migrations")
    assert found.returncode == 1
    lines = found.stdout.splitlines()
    assert [re.search(r"\[([a-z-]+)\]", line).group(1) for line in lines] == (  # type: ignore[union-attr]
        EXPECTED_RULES[backend_name]
    )
    assert all(line.startswith("0002_risky: ") and "Instead: " in line for line in lines)
    assert f"operation(s) lock or rewrite a table on {backend_name}" in found.stderr
    if backend_name == "postgres":
        index = next(line for line in lines if "require-concurrent-index-creation" in line)
        assert "CREATE INDEX blocks writes to mg_post while it builds" in index
        assert "--online" in index and "CONCURRENTLY" in index

    # online mode is the safe form of the index and constraint rules on PostgreSQL
    online = await run(folder, "lint-migrations", "--online")
    rules = re.findall(r"\[([a-z-]+)\]", online.stdout)
    if backend_name == "postgres":
        assert rules == [
            "adding-field-with-volatile-default",
            "adding-required-field",
            "changing-column-type",
            "renaming-column",
        ]
    else:
        assert rules == EXPECTED_RULES[backend_name]

    excluded = await run(
        folder, "lint-migrations", "--exclude", "renaming-column", "--exclude", "nonsense"
    )
    assert excluded.returncode == 1
    assert "unknown rule(s) nonsense" in excluded.stderr
