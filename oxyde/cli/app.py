"""The ``oxyde`` command line: ``init``, ``makemigrations``, ``migrate``,
``showmigrations``, ``sqlmigrate``, ``lint-migrations``, ``migrations squash``,
``generate-stubs`` and ``doctor``."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from oxyde.cli.config import CONFIG_FILE, DIALECTS, Config, ConfigError, load_config, render_config
from oxyde.cli.console import ProgressPrinter, err, fail, interactive, out, reports_errors

__all__ = ["app", "main"]

app = typer.Typer(
    name="oxyde",
    help="oxyde: migrations and type stubs for your models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
migrations_app = typer.Typer(help="Manage the migration history.", no_args_is_help=True)
app.add_typer(migrations_app, name="migrations")

T = TypeVar("T")

#: seconds the commands wait for a database before giving up (OXYDE_CONNECT_TIMEOUT)
CONNECT_TIMEOUT = 3.0


def _version(value: bool) -> None:
    if value:
        from oxyde._version import __version__

        out.print(f"oxyde {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """oxyde: migrations and type stubs for your models."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help=f"Path of the settings file (default: ./{CONFIG_FILE})."),
]
AliasOption = Annotated[
    str, typer.Option("--db-alias", help="The DATABASES entry to use.", show_default=True)
]


def _connect_timeout() -> float:
    raw = os.environ.get("OXYDE_CONNECT_TIMEOUT")
    if not raw:
        return CONNECT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigError(
            f"OXYDE_CONNECT_TIMEOUT must be a positive number of seconds, got {raw!r}"
        )
    return value


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def _config(path: Path | None) -> Config:
    return load_config(path)


async def _with_database(config: Config, alias: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from oxyde.db import AsyncDatabase, PoolSettings
    from oxyde.exceptions import OperationalError

    timeout = _connect_timeout()
    # A database that is down is one line after a few seconds, not the pool's retries
    # and their warnings for acquire_timeout.
    settings = PoolSettings(acquire_timeout=timeout, min_connections=1)
    database = AsyncDatabase(config.url(alias), name=alias, settings=settings, overwrite=True)
    pool_log = logging.getLogger("psycopg.pool")
    level = pool_log.level
    pool_log.setLevel(logging.CRITICAL)
    try:
        await database.connect()
    except (OperationalError, OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot connect to database {alias!r}: {exc}") from None
    finally:
        pool_log.setLevel(level)
    try:
        return await work(database)
    finally:
        await database.disconnect()
        from oxyde.db.registry import lookup, unregister_connection

        try:
            if lookup(alias) is database:
                unregister_connection(alias)
        except KeyError:
            pass


# -- init -------------------------------------------------------------------------------


def _ask(value: str | None, question: str, default: str) -> str:
    if value is not None:
        return value
    if interactive():
        answer: str = typer.prompt(question, default=default)
        return answer
    return default


@app.command()
@reports_errors
def init(
    models: Annotated[
        str | None, typer.Option(help="Models modules, comma or space separated.")
    ] = None,
    dialect: Annotated[str | None, typer.Option(help="postgres, sqlite or mysql.")] = None,
    url: Annotated[str | None, typer.Option(help="URL of the default database.")] = None,
    migrations_dir: Annotated[
        str | None, typer.Option("--migrations-dir", help="Folder of the migration files.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write oxyde_config.py in the current folder (asks for what is not given)."""
    target = Path.cwd() / CONFIG_FILE
    if target.exists() and not force:
        if not interactive():
            fail(f"{CONFIG_FILE} exists; pass --force to overwrite it")
        if not typer.confirm(f"{CONFIG_FILE} exists. Overwrite it?", default=False):
            raise typer.Exit(1)
    names = _ask(models, "Models modules", "models").replace(",", " ").split()
    if not names:
        fail("give at least one models module")
    chosen = _ask(dialect, f"Dialect ({', '.join(DIALECTS)})", "postgres").strip().lower()
    if chosen == "postgresql":
        chosen = "postgres"
    if chosen not in DIALECTS:
        fail(f"unknown dialect {chosen!r}; choose one of {', '.join(DIALECTS)}")
    default_urls = {
        "postgres": "postgresql://localhost/mydb",
        "sqlite": "sqlite://db.sqlite3",
        "mysql": "mysql://root@localhost/mydb",
    }
    database_url = _ask(url, "Database URL", default_urls[chosen])
    folder = _ask(migrations_dir, "Migrations folder", "migrations")
    target.write_text(render_config(names, chosen, database_url, folder), encoding="utf-8")
    out.print(f"Wrote {escape(str(target))}")


# -- makemigrations ---------------------------------------------------------------------


@app.command()
@reports_errors
def makemigrations(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the migration.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the migration without writing it.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit with status 1 when the models have changes that no "
            "migration has (for CI).",
        ),
    ] = False,
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            help="Confirm a rename, OLD:NEW for a table or TABLE.OLD:NEW for a column "
            "(repeatable).",
        ),
    ] = None,
    accept_renames: Annotated[
        bool, typer.Option("--accept-renames", help="Treat every likely rename as a rename.")
    ] = False,
    no_renames: Annotated[
        bool, typer.Option("--no-renames", help="Treat likely renames as drop + add.")
    ] = False,
    empty: Annotated[
        bool, typer.Option("--empty", help="Write an empty migration to fill in by hand.")
    ] = False,
    stubs: Annotated[
        bool, typer.Option("--stubs/--no-stubs", help="Regenerate the type stubs too.")
    ] = True,
    online_above: Annotated[
        int | None,
        typer.Option(
            "--online-above",
            help="Write `online = True` in the migration when a table it would lock on "
            "PostgreSQL has at least this many rows (reads the default database).",
        ),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Write the next migration from the changes in the models."""
    from oxyde.codegen import write_stubs
    from oxyde.migrations import RenameCandidate, make_migration, parse_renames

    if accept_renames and no_renames:
        fail("--accept-renames and --no-renames contradict each other")
    config = _config(config_path)
    modules = config.import_models()
    can_ask = interactive()

    def decide(candidate: RenameCandidate) -> bool | None:
        if accept_renames:
            return True
        if no_renames:
            return False
        if can_ask:
            return typer.confirm(f"Was {candidate.label()} a rename?", default=True)
        return None

    made = make_migration(
        config.migrations_dir,
        name=name,
        renames=parse_renames(rename or []),
        decide=decide,
        dry_run=dry_run or check,
        empty=empty,
        dialect=config.dialect,
        online_when=None if online_above is None else _large_tables(config, online_above),
    )
    if check:
        if made is None:
            out.print("No changes detected.")
            return
        out.print(f"Changes not in a migration yet (would write {escape(made.name)}):")
        for op in made.operations:
            out.print(f"  - {escape(op.describe())}")
        if dry_run:
            out.print("")
            out.print(escape(made.source), end="")
        err.print("Error: the models and the migrations differ; run `oxyde makemigrations`")
        raise typer.Exit(1)
    if made is None:
        out.print("No changes detected.")
    else:
        verb = "Would write" if dry_run else "Wrote"
        out.print(f"{verb} {escape(_shown(made.path, config))}")
        for op in made.operations:
            out.print(f"  - {escape(op.describe())}")
        if dry_run:
            out.print("")
            out.print(escape(made.source), end="")
    if stubs and not dry_run:
        for path in write_stubs(modules):
            out.print(f"Stubs: {escape(_shown(path, config))}")


def _large_tables(config: Config, rows: int) -> Callable[[Sequence[Any]], bool]:
    """Whether a table the operations would lock has ``rows`` rows or more."""
    from oxyde.migrations.online import long_lock_tables
    from oxyde.queries import execute_raw

    def decide(operations: Sequence[Any]) -> bool:
        tables = long_lock_tables(operations)
        if not tables:
            return False

        async def count(database: Any) -> bool:
            q = database.dialect.quote_ident
            for table in tables:
                name = ".".join(q(part) for part in table.split("."))
                try:
                    found = await execute_raw(
                        f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {name} LIMIT {rows}) AS x",
                        client=database,
                    )
                except Exception:  # not created yet: empty
                    continue
                if int(found[0]["n"]) >= rows:
                    out.print(f"{escape(table)} has {rows} rows or more: writing online = True")
                    return True
            return False

        return _run(lambda: _with_database(config, "default", count))

    return decide


def _shown(path: Path, config: Config) -> str:
    try:
        return str(path.resolve().relative_to(config.root))
    except ValueError:
        return str(path)


# -- migrate ----------------------------------------------------------------------------


@app.command()
@reports_errors
def migrate(
    target: Annotated[
        str | None,
        typer.Argument(help="Migration name or prefix to migrate to, or 'zero'; default: latest."),
    ] = None,
    fake: Annotated[
        bool, typer.Option("--fake", help="Only record the migrations as applied / unapplied.")
    ] = False,
    db_alias: AliasOption = "default",
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for another migrate.")
    ] = 60.0,
    undo_partial: Annotated[
        bool,
        typer.Option(
            "--undo-partial",
            help="Reverse the statements of a migration that stopped part-way (each is "
            "shown before it runs), instead of continuing it.",
        ),
    ] = False,
    no_preflight: Annotated[
        bool,
        typer.Option(
            "--no-preflight",
            help="Skip the checks that look for rows the DDL would refuse before it runs.",
        ),
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="PostgreSQL: build indexes concurrently, add constraints NOT VALID then "
            "validate them, each statement under a lock timeout with retries.",
        ),
    ] = False,
    ddl_lock_timeout: Annotated[
        float,
        typer.Option(
            "--ddl-lock-timeout", help="Online mode: seconds a statement waits for its lock."
        ),
    ] = 2.0,
    ddl_retries: Annotated[
        int,
        typer.Option("--ddl-retries", help="Online mode: retries of a statement that timed out."),
    ] = 10,
    statement_timeout: Annotated[
        float | None,
        typer.Option(
            "--statement-timeout",
            help="Online mode: seconds a statement may run (default: no limit).",
        ),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Apply (or roll back) migrations on a database."""
    from oxyde.migrations import migrate as run_migrations
    from oxyde.migrations.online import OnlineSettings

    config = _config(config_path)
    settings = OnlineSettings(ddl_lock_timeout, ddl_retries, statement_timeout)
    printer = ProgressPrinter()

    async def work(database: Any) -> None:
        result = await run_migrations(
            config.migrations_dir,
            target,
            database=database,
            fake=fake,
            lock_timeout=lock_timeout,
            progress=printer,
            preflight=not no_preflight,
            undo_partial=undo_partial,
            online=online,
            online_settings=settings,
        )
        if undo_partial:
            out.print(f"Reversed {len(result.undone)} statement(s).")
        elif not result.applied and not result.rolled_back:
            out.print("No migrations to apply.")

    out.print(f"Migrating database {escape(db_alias)}:")
    if no_preflight:
        out.print("  [yellow]note:[/] pre-flight checks skipped (--no-preflight)")
    try:
        _run(lambda: _with_database(config, db_alias, work))
    except Exception:
        if printer.open_line:
            out.print(" [red]FAILED[/]")
        raise


# -- showmigrations ---------------------------------------------------------------------


@app.command()
@reports_errors
def showmigrations(db_alias: AliasOption = "default", config_path: ConfigOption = None) -> None:
    """List the migrations and whether the database applied them."""
    from oxyde.migrations import migration_status

    config = _config(config_path)

    async def work(database: Any) -> Any:
        return await migration_status(config.migrations_dir, database=database)

    statuses = _run(lambda: _with_database(config, db_alias, work))
    if not statuses:
        out.print(f"No migrations in {escape(_shown(config.migrations_dir, config))}.")
        return
    applied = 0
    for status in statuses:
        if status.partial:
            mark, detail = "[!]", f"  partial: {status.partial}"
        elif status.missing:
            mark, detail = "[?]", "  recorded, but the file is missing"
        elif status.applied:
            mark, detail = "[X]", ""
        else:
            mark, detail = "[ ]", ""
        applied += status.applied and not status.partial
        out.print(f"{escape(mark)} {escape(status.name)}{escape(detail)}")
    out.print(f"{applied} of {len(statuses)} applied.")


# -- sqlmigrate -------------------------------------------------------------------------


@app.command()
@reports_errors
def sqlmigrate(
    name: Annotated[str, typer.Argument(help="Migration name or unique prefix.")],
    backwards: Annotated[
        bool, typer.Option("--backwards", help="Show the SQL of its downgrade.")
    ] = False,
    dialect: Annotated[
        str | None, typer.Option(help="Dialect to render (default: DIALECT of the settings).")
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Show the PostgreSQL online-mode statements.")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Print the SQL a migration runs (no database needed)."""
    from oxyde.migrations import load_migrations, migration_sql

    config = _config(config_path)
    steps = migration_sql(
        load_migrations(config.migrations_dir),
        name,
        dialect or config.dialect,
        backwards=backwards,
        online=online,
    )
    if not steps:
        out.print("-- (no SQL)")
    for step in steps:
        if step.manual:
            out.print(escape(step.sql))
        elif step.early:
            out.print(escape(f"{step.sql}; -- runs before the migration's transaction"))
        else:
            out.print(escape(f"{step.sql};"))


# -- lint-migrations --------------------------------------------------------------------


@app.command("lint-migrations")
@reports_errors
def lint_migrations(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Migration names or unique prefixes (default: all)."),
    ] = None,
    dialect: Annotated[
        str | None, typer.Option(help="Database to judge for (default: DIALECT of the settings).")
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="As run with `oxyde migrate --online`.")
    ] = False,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="A rule to leave out (repeatable).")
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Flag operations that lock or rewrite a table on a live database, with the safe
    alternative; exit status 1 when there are any (no database needed)."""
    from oxyde.migrations import load_migrations, resolve_target
    from oxyde.migrations.lint import lint_migrations as lint

    config = _config(config_path)
    migrations = load_migrations(config.migrations_dir)
    chosen = None
    if names:
        chosen = [n for n in (resolve_target(migrations, name) for name in names) if n]
    judged = dialect or config.dialect
    findings = lint(migrations, judged, names=chosen, online=online, exclude=exclude or ())
    for finding in findings:
        out.print(escape(finding.line(judged)))
    checked = len(chosen) if chosen is not None else len(migrations)
    if findings:
        err.print(
            f"Error: {len(findings)} operation(s) lock or rewrite a table on {judged} "
            f"({checked} migration(s) checked)"
        )
        raise typer.Exit(1)
    out.print(f"No locking operations found on {escape(judged)} ({checked} migration(s)).")


# -- migrations squash ------------------------------------------------------------------


@migrations_app.command("squash")
@reports_errors
def squash(
    name: Annotated[str, typer.Option("--name", help="Name of the squashed migration.")] = (
        "squashed"
    ),
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config_path: ConfigOption = None,
) -> None:
    """Replace every migration by one that builds the same schema (deletes the old files)."""
    from oxyde.migrations import squash_migrations

    config = _config(config_path)
    if not yes:
        if not interactive():
            fail("squash deletes the migration files; pass --yes to confirm")
        if not typer.confirm("Replace every migration file by one squashed migration?"):
            raise typer.Exit(1)
    result = squash_migrations(config.migrations_dir, name=name)
    if result.new_file is None:
        fail(f"no migrations to squash in {_shown(config.migrations_dir, config)}")
    out.print(
        f"Wrote {escape(_shown(result.path, config))}, replacing {len(result.replaced)} "
        "migration(s)."
    )
    for dropped in result.dropped_sql:
        err.print(
            f"[yellow]warning:[/] the raw SQL / manual steps of {escape(dropped)} are not in "
            "the squashed migration; add them again by hand if still needed"
        )


# -- generate-stubs ---------------------------------------------------------------------


@app.command("generate-stubs")
@reports_errors
def generate_stubs(config_path: ConfigOption = None) -> None:
    """Write .pyi stubs next to the models modules (typed query arguments)."""
    from oxyde.codegen import write_stubs

    config = _config(config_path)
    paths = write_stubs(config.import_models())
    if not paths:
        out.print("No table models found.")
    for path in paths:
        out.print(f"Wrote {escape(_shown(path, config))}")


# -- doctor -----------------------------------------------------------------------------


@app.command()
@reports_errors
def doctor(
    db_alias: Annotated[
        list[str] | None,
        typer.Option("--db-alias", help="A DATABASES entry to check (repeat; default: all)."),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Application processes that share each database (for the pool check).",
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    config_path: ConfigOption = None,
) -> None:
    """Check pools, SQLite settings, indexes and migrations; exit 1 when one is not ok."""
    import json

    from oxyde.cli.doctor import Check, diagnose
    from oxyde.db.schema import _metas

    config = _config(config_path)
    config.import_models()
    metas = _metas(None)
    aliases = db_alias or list(config.databases)
    checks: list[Check] = []
    for alias in aliases:

        async def work(database: Any) -> list[Check]:
            return await diagnose(
                database, metas, processes=processes, migrations_dir=config.migrations_dir
            )

        checks.extend(_run(lambda: _with_database(config, alias, work)))  # noqa: B023
    problems = [c for c in checks if c.status != "ok"]
    if as_json:
        out.print_json(json.dumps({"ok": not problems, "checks": [c.as_dict() for c in checks]}))
    else:
        marks = {"ok": "[green]ok[/]  ", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
        for c in checks:
            fix = f"\n        fix: {escape(c.fix)}" if c.fix else ""
            out.print(f"{marks[c.status]} [{escape(c.alias)}] {c.name}: {escape(c.detail)}{fix}")
        out.print(f"{len(checks)} check(s), {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the ``oxyde`` command."""
    try:
        app(prog_name="oxyde")
    except ConfigError as exc:  # pragma: no cover - commands report their own errors
        err.print(f"[bold red]Error:[/] {escape(str(exc))}")
        raise SystemExit(1) from None
