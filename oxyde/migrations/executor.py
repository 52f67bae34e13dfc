"""Applying and rolling back migrations on a database.

A run borrows one connection for its whole length, takes the migration lock on it
(``oxyde.migrations.lock``), reads ``oxyde_migrations`` and plans which migrations to
run. Each migration's SQL is rendered before anything runs, so a migration that needs a
manual step fails before touching the database. Each migration then runs in one
transaction with its bookkeeping row, where the database allows DDL in transactions
(PostgreSQL, SQLite); what cannot run in it is said before it starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from oxyde.backends.base import Connection, can_suspend_foreign_keys
from oxyde.exceptions import OxydeError
from oxyde.migrations.alter import AlterDdl, alter_ddl
from oxyde.migrations.context import MigrationContext
from oxyde.migrations.errors import MigrationError
from oxyde.migrations.loader import Migration, load_migrations, replay, resolve_target
from oxyde.migrations.lock import migration_lock
from oxyde.migrations.online import OnlineSettings
from oxyde.migrations.operations import AddCheck, AddForeignKey, CreateTable, Step
from oxyde.migrations.partial import PartialRun
from oxyde.migrations.preflight import PreflightCheck
from oxyde.migrations.recorder import AppliedMigration, MigrationRecorder
from oxyde.migrations.state import SchemaState
from oxyde.sql.dialects.base import Dialect

if TYPE_CHECKING:
    from oxyde.db.database import AsyncDatabase

__all__ = [
    "MigrationStatus",
    "PreflightError",
    "Progress",
    "RunResult",
    "migrate",
    "migration_sql",
    "migration_status",
    "plan_migrations",
]


class Progress(Protocol):
    """What ``migrate`` reports while it runs (the CLI prints it)."""

    def start(self, name: str, *, backwards: bool, fake: bool, notes: Sequence[str]) -> None: ...

    def finish(self, name: str, *, backwards: bool, seconds: float) -> None: ...


def _show(progress: Progress | None, sql: str) -> None:
    # optional: a progress that has ``statement(sql)`` is shown each undo statement
    show = getattr(progress, "statement", None)
    if show is not None:
        show(sql)


def _retrying(progress: Progress | None, sql: str, attempt: int) -> None:
    # optional: a progress that has ``retry(sql, attempt)`` hears of lock timeouts
    show = getattr(progress, "retry", None)
    if show is not None:
        show(sql, attempt)


#: PostgreSQL's SQLSTATE for a statement that gave up waiting for a lock
LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class RunResult:
    applied: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    #: the statements ``undo_partial`` ran, in order
    undone: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    applied: bool
    applied_at: Any = None
    partial: str | None = None
    #: recorded in the database but missing from the migrations directory
    missing: bool = False


# -- planning ----------------------------------------------------------------------------


def _ancestors(by_name: dict[str, Migration], name: str) -> set[str]:
    seen: set[str] = set()
    stack = [name]
    while stack:
        for dep in by_name[stack.pop()].depends_on:
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def _applied_names(
    migrations: Sequence[Migration], records: Sequence[AppliedMigration], *, fake: bool
) -> set[str]:
    """Names that count as applied; raises for a history the files do not explain."""
    names = {m.name for m in migrations}
    # A migration that stopped part-way in its upgrade is not applied yet (unless only
    # the records are being set: then its record counts).
    recorded = {
        r.name
        for r in records
        if fake or not r.partial or PartialRun.parse(r.name, r.partial).backwards
    }
    replaced = {r for m in migrations for r in m.replaces}
    unknown = sorted(recorded - names - replaced)
    if unknown:
        raise MigrationError(
            f"the database has applied migrations that are not in the migrations directory: "
            f"{', '.join(unknown)}"
        )
    applied = recorded & names
    for m in migrations:
        if m.name not in applied and m.replaces:
            done = [r for r in m.replaces if r in recorded]
            if done and len(done) == len(m.replaces):
                applied.add(m.name)
            elif done:
                raise MigrationError(
                    f"{m.name} replaces {', '.join(m.replaces)}, of which only "
                    f"{', '.join(done)} are applied; apply the rest with the old files first"
                )
    by_name = {m.name: m for m in migrations}
    for name in sorted(applied):
        missing = sorted(d for d in by_name[name].depends_on if d not in applied)
        if missing:
            raise MigrationError(
                f"inconsistent history: {name} is applied but its dependency "
                f"{', '.join(missing)} is not"
            )
    return applied


def plan_migrations(
    migrations: Sequence[Migration], applied: set[str], target: str | None
) -> list[tuple[Migration, bool]]:
    """``(migration, backwards)`` pairs to run, in order, to reach ``target``
    (None: everything; "zero": nothing applied)."""
    by_name = {m.name: m for m in migrations}
    if target is None:
        return [(m, False) for m in migrations if m.name not in applied]
    name = resolve_target(migrations, target)
    if name is None:
        return [(m, True) for m in reversed(migrations) if m.name in applied]
    if name in applied:
        # back to ``name``: undo what was applied on top of it
        later = [m for m in migrations if name in _ancestors(by_name, m.name)]
        return [(m, True) for m in reversed(later) if m.name in applied]
    needed = _ancestors(by_name, name) | {name}
    return [(m, False) for m in migrations if m.name in needed and m.name not in applied]


def _replay(migrations: Sequence[Migration], applied: set[str], dialect: Dialect) -> SchemaState:
    ctx = MigrationContext(dialect=dialect)
    for m in migrations:
        if m.name in applied:
            m.run(ctx)
    return ctx.state


def migration_sql(
    migrations: Sequence[Migration],
    name: str,
    dialect: Dialect | str,
    *,
    backwards: bool = False,
    online: bool = False,
) -> list[Step]:
    """The SQL ``migrate`` runs for migration ``name`` (or its ``downgrade``), assuming
    every migration before it is applied; ``online`` (or the file's ``online = True``):
    PostgreSQL online mode. No database is needed."""
    target = resolve_target(migrations, name)
    if target is None:
        raise MigrationError("sqlmigrate needs a migration name, not 'zero'")
    by_name = {m.name: m for m in migrations}
    before = _ancestors(by_name, target)
    if backwards:
        before.add(target)
    ctx = MigrationContext(dialect=dialect)
    for m in migrations:
        if m.name in before:
            m.run(ctx)
    ctx = MigrationContext(
        ctx.state, dialect=dialect, sql=True, online=online or by_name[target].online
    )
    by_name[target].run(ctx, backwards=backwards)
    return ctx.steps


# -- running -----------------------------------------------------------------------------


async def _database(database: AsyncDatabase | str) -> AsyncDatabase:
    from oxyde.db.registry import get_connection

    if isinstance(database, str):
        return await get_connection(database)
    if not database.connected:
        await database.connect()
    return database


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _foreign_keys_off(conn: Connection, ddl: AlterDdl) -> AbstractAsyncContextManager[None]:
    """The DDL wants enforcement off (SQLite's table rebuilds) and the connection can."""
    if ddl.suspend_foreign_keys and can_suspend_foreign_keys(conn):
        return conn.foreign_keys_disabled()
    return _nothing()


def _notes(ddl: AlterDdl, early: list[Step], main: list[Step], online: bool) -> list[str]:
    notes = []
    if online:
        return [
            "online mode: each statement commits on its own under lock_timeout, retried "
            "when it times out; if one fails the migration is recorded as partial"
        ]
    if early:
        notes.append(
            f"{len(early)} statement(s) run and commit before the migration's transaction "
            "(new enum values, which a transaction cannot use until committed)"
        )
    if not ddl.transactional and main:
        notes.append(
            "this database commits each DDL statement: if one fails, the ones before it "
            "stay applied and the migration is recorded as partial"
        )
    return notes


class PreflightError(MigrationError):
    """A migration's pre-flight checks found rows its DDL would refuse or damage;
    nothing of it ran. ``failures`` pairs each failed check with its count."""

    def __init__(self, name: str, failures: Sequence[tuple[PreflightCheck, int]]) -> None:
        self.failures = list(failures)
        found = "; ".join(
            f"{count} {check.problem if count != 1 else check.problem.replace('rows', 'row', 1)}"
            f", find them with: {check.find_sql}"
            for check, count in self.failures
        )
        super().__init__(
            f"{name}: pre-flight check failed, nothing of it ran: {found}. Fix those rows "
            "and run again, or pass --no-preflight to skip the checks"
        )


class _Runner:
    def __init__(
        self,
        conn: Connection,
        migrations: Sequence[Migration],
        applied: set[str],
        progress: Progress | None,
        *,
        preflight: bool = True,
        online: bool = False,
        settings: OnlineSettings | None = None,
    ) -> None:
        self.conn = conn
        self.preflight = preflight
        self.online = online
        self.settings = settings or OnlineSettings()
        self.dialect = conn.dialect
        self.ddl = alter_ddl(self.dialect)
        self.recorder = MigrationRecorder(conn)
        self.migrations = migrations
        self.applied = applied
        self.progress = progress
        self.state = _replay(migrations, applied, self.dialect)

    async def _execute(self, migration: Migration, step: Step) -> None:
        try:
            await self.conn.execute(self.dialect.driver_text(step.sql), ())
        except OxydeError as exc:
            raise MigrationError(f"{migration.name} failed: {exc} [SQL: {step.sql}]") from exc

    def _online(self, migration: Migration) -> bool:
        return self.dialect.name == "postgres" and (self.online or migration.online)

    def _render(
        self, migration: Migration, backwards: bool, online: bool | None = None
    ) -> MigrationContext:
        online = self._online(migration) if online is None else online
        ctx = MigrationContext(self.state.copy(), dialect=self.dialect, sql=True, online=online)
        migration.run(ctx, backwards=backwards)
        return ctx

    def _sequence(self, ctx: MigrationContext) -> list[Step]:
        """The statements run one by one: all of them, in order, in online mode."""
        return list(ctx.steps) if ctx.online else [s for s in ctx.steps if not s.early]

    async def _execute_online(self, migration: Migration, step: Step, *, again: bool) -> None:
        """``step`` under ``lock_timeout``, retried when it times out waiting for a lock;
        ``again``: it ran before and failed (run its cleanup first)."""
        settings = self.settings
        conn = self.conn
        lock_ms = max(1, round(settings.lock_timeout * 1000))
        statement_ms = round(settings.statement_timeout * 1000) if settings.statement_timeout else 0
        attempt = 0
        while True:
            await conn.execute(f"SET lock_timeout = {lock_ms}", ())
            await conn.execute(f"SET statement_timeout = {statement_ms}", ())
            try:
                if (again or attempt) and step.cleanup:
                    await conn.execute(self.dialect.driver_text(step.cleanup), ())
                await conn.execute(self.dialect.driver_text(step.sql), ())
                return
            except OxydeError as exc:
                if exc.sqlstate != LOCK_NOT_AVAILABLE or attempt >= settings.retries:
                    hint = (
                        f" (gave up after {attempt + 1} tries of {settings.lock_timeout}s)"
                        if exc.sqlstate == LOCK_NOT_AVAILABLE
                        else ""
                    )
                    raise MigrationError(
                        f"{migration.name} failed: {exc}{hint} [SQL: {step.sql}]"
                    ) from exc
            finally:
                await conn.execute("RESET lock_timeout", ())
                await conn.execute("RESET statement_timeout", ())
            attempt += 1
            _retrying(self.progress, step.sql, attempt)
            # let the writes queued behind the lock through before asking again
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))

    def _resume_point(self, migration: Migration, main: list[Step], resume: PartialRun) -> int:
        if not resume.matches(main):
            raise MigrationError(
                f"{migration.name} stopped part-way ({resume.describe()} statements ran) and "
                "its file no longer starts with the statements that ran, so it cannot be "
                "continued; repair the schema by hand, then mark it with `oxyde migrate "
                f"{migration.name} --fake` (applied) or `--fake` with an earlier target"
            )
        return resume.done

    async def run(
        self,
        migration: Migration,
        *,
        backwards: bool,
        fake: bool,
        resume: PartialRun | None = None,
    ) -> None:
        started = time.monotonic()
        online = resume.online if resume is not None else self._online(migration)
        ctx = self._render(migration, backwards, online)
        manual = [s.manual for s in ctx.steps if s.manual]
        if manual and not fake:
            raise MigrationError(f"{migration.name} needs a manual step: {manual[0]}")
        early = [s for s in ctx.steps if s.early]
        main = self._sequence(ctx)
        start = 0
        if resume is not None and not fake:
            start = self._resume_point(migration, main, resume)
        if not fake and self.preflight:
            first = main[start].operation if start < len(main) else len(ctx.operations)
            await self._preflight(migration, ctx.preflight(first))
        if self.progress is not None:
            notes = [] if fake else _notes(self.ddl, early, main, online)
            if not fake and (self.online or migration.online) and not online:
                notes.append(f"online mode is for PostgreSQL; {self.dialect.name} runs it as usual")
            if start:
                notes.insert(
                    0,
                    f"continuing from statement {start + 1} of {len(main)} (the first "
                    f"{start} ran before it stopped)",
                )
            if not fake and not self.preflight and ctx.checks:
                notes.append("pre-flight checks skipped (--no-preflight)")
            self.progress.start(migration.name, backwards=backwards, fake=fake, notes=notes)
        if fake:
            await self._bookkeep(migration, backwards)
        elif online:
            await self._run_statements(migration, backwards, main, start, online=True)
        elif self.ddl.transactional:
            await self._run_in_transaction(migration, backwards, early, main)
        else:
            await self._run_statements(migration, backwards, main, start)
        self.state = ctx.state
        if backwards:
            self.applied.discard(migration.name)
        else:
            self.applied.add(migration.name)
        if self.progress is not None:
            self.progress.finish(
                migration.name, backwards=backwards, seconds=time.monotonic() - started
            )

    async def _preflight(self, migration: Migration, checks: Sequence[PreflightCheck]) -> None:
        failures = []
        for check in checks:
            try:
                rows = await self.conn.fetch(self.dialect.driver_text(check.count_sql), ())
            except OxydeError as exc:
                raise MigrationError(
                    f"{migration.name}: pre-flight check failed to run: {exc} "
                    f"[SQL: {check.count_sql}]"
                ) from exc
            count = int(rows[0][0] or 0) if rows else 0
            if count:
                failures.append((check, count))
        if failures:
            raise PreflightError(migration.name, failures)

    async def _bookkeep(self, migration: Migration, backwards: bool) -> None:
        if backwards:
            # a squashed migration also stands for the records of what it replaces
            for name in (*migration.replaces, migration.name):
                await self.recorder.remove(name)
        else:
            await self.recorder.record(migration.name)

    async def _run_in_transaction(
        self, migration: Migration, backwards: bool, early: list[Step], main: list[Step]
    ) -> None:
        for step in early:
            await self._execute(migration, step)
        conn = self.conn
        async with _foreign_keys_off(conn, self.ddl):
            await conn.begin()
            try:
                # Another process may have run it meanwhile (SQLite takes no lock).
                if await self.recorder.is_applied(migration.name) == backwards:
                    for step in main:
                        await self._execute(migration, step)
                    await self._check_foreign_keys(migration)
                    await self._bookkeep(migration, backwards)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def _check_foreign_keys(self, migration: Migration) -> None:
        check = self.ddl.foreign_key_check
        if check is None:
            return
        rows = await self.conn.fetch(check, ())
        if rows:
            tables = sorted({str(row[0]) for row in rows})
            raise MigrationError(
                f"{migration.name} leaves rows whose foreign keys point at missing rows "
                f"(in {', '.join(tables)}); it was rolled back"
            )

    async def _run_statements(
        self,
        migration: Migration,
        backwards: bool,
        main: list[Step],
        start: int = 0,
        *,
        online: bool = False,
    ) -> None:
        done = start
        try:
            for step in main[start:]:
                if online:
                    await self._execute_online(migration, step, again=done == start > 0)
                else:
                    await self._execute(migration, step)
                done += 1
        except BaseException:
            if done:
                # which statement failed, and a digest of those that ran, to continue
                run = PartialRun.of(main, done, backwards=backwards, online=online)
                await self.recorder.record(migration.name, partial=run.record())
            raise
        await self._bookkeep(migration, backwards)

    async def undo_partial(self, migration: Migration, run: PartialRun) -> list[str]:
        """Reverse the statements a migration ran before it stopped, newest first,
        and record it as it was before it started. Returns the statements run."""
        ctx = self._render(migration, run.backwards, run.online)
        main = self._sequence(ctx)
        self._resume_point(migration, main, run)
        # the schema before each operation, to render what reverses it
        replayed = MigrationContext(self.state.copy(), dialect=self.dialect)
        befores = []
        for op in ctx.operations:
            befores.append(replayed.state.copy())
            replayed.run(op)
        afters = [*befores[1:], replayed.state]
        ran = sorted({main[i].operation for i in range(run.done)}, reverse=True)
        plan: list[tuple[int, list[Step]]] = []
        for index in ran:
            op = ctx.operations[index]
            own = [i for i, s in enumerate(main) if s.operation == index]
            # of those, only these exist as a whole once their first statement ran
            whole = CreateTable | AddForeignKey | AddCheck
            if any(i >= run.done for i in own) and not isinstance(op, whole):
                shown = "; ".join(main[i].sql for i in own if i < run.done)
                raise MigrationError(
                    f"{migration.name}: '{op.describe()}' stopped after some of its "
                    f"statements ({shown}); undo those by hand, then mark the migration with "
                    "`--fake`"
                )
            undo = MigrationContext(afters[index].copy(), dialect=self.dialect, sql=True)
            for reverse in op.reverse(befores[index]):
                undo.run(reverse)
            manual = [s.manual for s in undo.steps if s.manual]
            if manual:
                raise MigrationError(
                    f"{migration.name}: '{op.describe()}' cannot be reversed automatically "
                    f"({manual[0]}); undo it by hand, then mark the migration with `--fake`"
                )
            plan.append((own[0], undo.steps))
        executed: list[str] = []
        undone_to: int | None = None
        try:
            for first, steps in plan:
                for step in steps:
                    _show(self.progress, step.sql)
                    await self._execute(migration, step)
                    executed.append(step.sql)
                undone_to = first
        except BaseException:
            if undone_to is not None:
                left = PartialRun.of(main, undone_to, backwards=run.backwards, online=run.online)
                await self.recorder.record(migration.name, partial=left.record())
            raise
        if run.backwards:
            await self.recorder.record(migration.name)
        else:
            await self.recorder.remove(migration.name)
        return executed


async def migrate(
    directory: str | Path,
    target: str | None = None,
    *,
    database: AsyncDatabase | str = "default",
    fake: bool = False,
    lock_timeout: float = 60.0,
    progress: Progress | None = None,
    preflight: bool = True,
    undo_partial: bool = False,
    online: bool = False,
    online_settings: OnlineSettings | None = None,
) -> RunResult:
    """Bring ``database`` to ``target``: a migration name or unique prefix (applying
    what leads to it, or rolling back what came after it), ``"zero"`` (roll back
    everything), or None (apply everything). ``fake`` only updates the records.
    ``preflight`` runs each migration's pre-flight checks before its first statement
    (``oxyde.migrations.preflight``).

    A migration that stopped part-way (``oxyde.migrations.partial``) is continued from
    the statement that failed when the run goes the same way; ``undo_partial`` instead
    reverses the statements it ran (and runs nothing else).

    ``online`` (or ``online = True`` in a migration file) runs PostgreSQL migrations
    without long locks (``oxyde.migrations.online``), each statement on its own under
    ``online_settings``' lock timeout, with retries."""
    migrations = load_migrations(directory)
    db = await _database(database)
    # Every file must read before anything (even the migrations table) is written.
    replay(migrations, dialect=db.dialect)
    result = RunResult()
    async with db.connection(write=True) as conn, migration_lock(conn, wait=lock_timeout):
        recorder = MigrationRecorder(conn)
        await recorder.ensure_table()
        records = await recorder.applied()
        applied = _applied_names(migrations, records, fake=fake)
        partial = {r.name for r in records if r.partial}
        stopped = next((r for r in records if r.partial), None)
        by_name = {m.name: m for m in migrations}
        if undo_partial:
            if stopped is None or stopped.partial is None:
                raise MigrationError("no migration stopped part-way; there is nothing to undo")
            if fake or target is not None:
                raise MigrationError("--undo-partial takes neither a target nor --fake")
            undo_runner = _Runner(
                conn, migrations, applied, progress, preflight=False, settings=online_settings
            )
            result.undone = await undo_runner.undo_partial(
                by_name[stopped.name], PartialRun.parse(stopped.name, stopped.partial)
            )
            return result
        # squashed migrations whose replaced files are all applied: record them too
        for m in migrations:
            if m.name in applied and m.name not in {r.name for r in records}:
                await recorder.record(m.name)
        plan = plan_migrations(migrations, applied, target)
        if fake and target not in (None, "zero"):
            name = resolve_target(migrations, target)
            if name in partial and not plan:
                plan = [(next(m for m in migrations if m.name == name), False)]
        resume: PartialRun | None = None
        resume_name = None
        if stopped is not None and stopped.partial is not None and not fake:
            resume = PartialRun.parse(stopped.name, stopped.partial)
            entry = (by_name[stopped.name], resume.backwards)
            if entry not in plan:
                way = "before" if resume.backwards else "at or after"
                raise MigrationError(
                    f"{stopped.name} stopped part-way in its {resume.direction} (statement "
                    f"{resume.done + 1} of {resume.total} failed). Fix the cause and run "
                    f"`oxyde migrate` with a target {way} it to continue from that "
                    "statement, or `oxyde migrate --undo-partial` to reverse the "
                    f"{resume.done} statement(s) that ran"
                )
            # its dependencies are applied (or its dependents rolled back): it goes first
            resume_name = stopped.name
            plan.remove(entry)
            plan.insert(0, entry)
        runner = _Runner(
            conn,
            migrations,
            applied,
            progress,
            preflight=preflight,
            online=online,
            settings=online_settings,
        )
        for migration, backwards in plan:
            continued = resume if migration.name == resume_name else None
            await runner.run(migration, backwards=backwards, fake=fake, resume=continued)
            (result.rolled_back if backwards else result.applied).append(migration.name)
    return result


def _readable(name: str, partial: str | None) -> str | None:
    return None if partial is None else PartialRun.parse(name, partial).describe()


async def migration_status(
    directory: str | Path, *, database: AsyncDatabase | str = "default"
) -> list[MigrationStatus]:
    """Every migration file with whether ``database`` applied it, then records that
    have no file."""
    migrations = load_migrations(directory)
    db = await _database(database)
    async with db.connection(write=True) as conn:
        recorder = MigrationRecorder(conn)
        await recorder.ensure_table()
        records = {r.name: r for r in await recorder.applied()}
    out = []
    for m in migrations:
        record = records.pop(m.name, None)
        replaced = bool(m.replaces) and all(r in records for r in m.replaces)
        out.append(
            MigrationStatus(
                m.name,
                applied=record is not None or replaced,
                applied_at=record.applied_at if record is not None else None,
                partial=_readable(m.name, record.partial) if record is not None else None,
            )
        )
    replaced_names = {r for m in migrations for r in m.replaces}
    for name, record in records.items():
        if name not in replaced_names:
            partial = _readable(name, record.partial)
            out.append(MigrationStatus(name, True, record.applied_at, partial, missing=True))
    return out
