"""Routing between a database's primary and its read replicas, read-your-writes, routers.

A database with replicas (or a router) hands queries a ``RoutedExecutor`` instead of
itself. It sends reads made outside a transaction to a healthy replica and everything
else to the primary: writes, ``select_for_update()``, queries marked
``using_primary()``, and reads of a task (context) that wrote less than
``read_your_writes`` seconds ago. Statements inside ``atomic()`` never get here: they
run on the transaction, which is on the primary.

A router (a callable ``(model, operation, hints) -> alias | None``, or an object with
Django-style ``db_for_read(model, **hints)`` / ``db_for_write(model, **hints)``) can
name the target: the database's alias for its primary, a replica's name, or ``None``
for the rule above. Any other name, or a replica for a write, raises ``RoutingError``
before anything is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, TypeVar

from oxyde.backends.base import Backend, Row, runs_statements
from oxyde.db import querylog
from oxyde.db.replicas import HEALTHY, ReplicaState, close_all, monitor
from oxyde.exceptions import OperationalError, OxydeError

if TYPE_CHECKING:
    from oxyde.backends.capabilities import Capabilities
    from oxyde.db.database import AsyncDatabase
    from oxyde.db.transaction import Atomic
    from oxyde.sql.dialects.base import Dialect

__all__ = ["READ", "WRITE", "RoutedExecutor", "Router", "Routing", "RoutingError"]

T = TypeVar("T")

READ: Final = "read"
WRITE: Final = "write"
BALANCES: Final = ("round_robin", "least_in_use")

#: (model or None, "read" | "write", hints) -> alias, replica name, or None
Router = Callable[[Any, str, Mapping[str, Any]], "str | None"]

#: database alias -> monotonic time until which this context reads from the primary
_written: ContextVar[Mapping[str, float] | None] = ContextVar("oxyde_written", default=None)


class RoutingError(OxydeError):
    """A router named a target the database does not have, or sent a write to a
    replica; nothing was sent."""


def as_router(router: object) -> Router | None:
    """A plain function from what a user configured (``TypeError`` if unusable)."""
    if router is None:
        return None
    if hasattr(router, "db_for_read") or hasattr(router, "db_for_write"):
        obj = router() if isinstance(router, type) else router

        def django_style(model: Any, operation: str, hints: Mapping[str, Any]) -> str | None:
            method = getattr(obj, f"db_for_{operation}", None)
            if method is None:
                return None
            result: str | None = method(model, **hints)
            return result

        return django_style
    if callable(router):
        func: Router = router
        return func
    raise TypeError(
        "router must be a callable (model, operation, hints) -> alias, or an object with "
        f"db_for_read/db_for_write methods; got {router!r}"
    )


def _seconds(name: str, value: object, *, allow_zero: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        from datetime import timedelta

        if not isinstance(value, timedelta):
            raise ValueError(f"{name} must be a number of seconds or a timedelta, got {value!r}")
        seconds = value.total_seconds()
    if not (seconds > 0 or (allow_zero and seconds == 0)) or seconds == float("inf"):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
    return seconds


class Routing:
    """The replicas, router and read-your-writes window of one database."""

    def __init__(
        self,
        database: AsyncDatabase,
        replicas: Sequence[ReplicaState],
        *,
        router: object = None,
        read_your_writes: object = 5.0,
        balance: str = "round_robin",
        check_interval: object = 1.0,
    ) -> None:
        if balance not in BALANCES:
            raise ValueError(f"balance must be one of {', '.join(BALANCES)}; got {balance!r}")
        self.database = database
        self.alias = database.name
        self.replicas = list(replicas)
        self.by_name = {r.name: r for r in self.replicas}
        self.router = as_router(router)
        self.window = (
            0.0
            if read_your_writes is None or read_your_writes is False
            else _seconds("read_your_writes", read_your_writes, allow_zero=True)
        )
        self.balance = balance
        self.interval = _seconds("check_interval", check_interval, allow_zero=False)
        #: reads that ran on the primary because no replica was healthy
        self.primary_fallbacks = 0
        #: reads sent to the primary by read-your-writes
        self.sticky_reads = 0
        self._next = 0
        self._monitor: asyncio.Task[None] | None = None
        #: the replicas in rotation, kept current by their state changes
        self.healthy: tuple[ReplicaState, ...] = ()
        for replica in self.replicas:
            replica.on_change = self._states_changed

    def _states_changed(self) -> None:
        self.healthy = tuple(r for r in self.replicas if r.state == HEALTHY)

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect the replicas (one that cannot be reached starts out of rotation)
        and start sampling them."""
        timeout = max(self.interval * 2, 1.0)
        if self.replicas:
            await asyncio.gather(*(r.check(timeout) for r in self.replicas))
            self._monitor = asyncio.get_running_loop().create_task(
                self._watch(), name=f"oxyde-replicas-{self.alias}"
            )

    async def _watch(self) -> None:
        await asyncio.sleep(self.interval)
        await monitor(self.replicas, self.interval)

    async def close(self) -> None:
        task, self._monitor = self._monitor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await close_all(self.replicas)

    def stats(self) -> dict[str, Any]:
        return {
            "replicas": [r.stats() for r in self.replicas],
            "primary_fallbacks": self.primary_fallbacks,
            "read_your_writes_reads": self.sticky_reads,
        }

    # -- decisions ----------------------------------------------------------------------

    def executor(self, route: object) -> RoutedExecutor:
        """The executor for one query; ``route`` is the ``Query`` or model class it
        comes from (for the router and ``using_primary()``), or ``None``."""
        return RoutedExecutor(self, route)

    def wrote(self) -> None:
        """The current context wrote: its reads go to the primary for the window."""
        if self.window:
            marks = _written.get()
            until = time.monotonic() + self.window
            _written.set({**marks, self.alias: until} if marks else {self.alias: until})

    def _recently_wrote(self) -> bool:
        marks = _written.get()
        if marks is None:
            return False
        until = marks.get(self.alias)
        return until is not None and until > time.monotonic()

    def pick(self, tried: Sequence[ReplicaState] = ()) -> ReplicaState | None:
        """A healthy replica (round-robin or least in use), or ``None``."""
        healthy = self.healthy
        if tried:
            healthy = tuple(r for r in healthy if r not in tried)
        count = len(healthy)
        if count <= 1:
            return healthy[0] if count else None
        self._next += 1
        if self.balance == "least_in_use":
            start = self._next % count
            return min(healthy[start:] + healthy[:start], key=_in_use)
        return healthy[self._next % count]

    def ask_router(self, model: Any, operation: str, sql: str) -> ReplicaState | bool | None:
        """The router's answer: a replica, ``None`` for the primary, or ``True`` when
        it left the choice to the default rule."""
        router = self.router
        if router is None:
            return True
        target = router(model, operation, {"database": self.alias, "sql": sql})
        if target is None:
            return True
        if target == self.alias:
            return None
        replica = self.by_name.get(target) if isinstance(target, str) else None
        if replica is None:
            known = ", ".join(repr(n) for n in (self.alias, *self.by_name))
            raise RoutingError(
                f"the router of database {self.alias!r} returned {target!r}, which is "
                f"neither its alias nor one of its replicas ({known})"
            )
        if operation == WRITE:
            raise RoutingError(
                f"the router of database {self.alias!r} sent a write to replica "
                f"{target!r}; writes go to the primary (statement not sent)"
            )
        return replica

    def read_target(self, route: object, sql: str) -> ReplicaState | None:
        """Where a read of the query or model ``route`` goes: a replica, or ``None``
        for the primary."""
        if _forces_primary(route):
            return None
        if self._recently_wrote():
            self.sticky_reads += 1
            return None
        chosen = True if self.router is None else self.ask_router(_model_of(route), READ, sql)
        if chosen is True:
            chosen = self.pick()
            if chosen is None and self.replicas:
                self.primary_fallbacks += 1
            return chosen
        assert chosen is None or isinstance(chosen, ReplicaState)
        if chosen is not None and chosen.state != HEALTHY:
            chosen.fallbacks += 1
            chosen = self.pick((chosen,))
            if chosen is None:
                self.primary_fallbacks += 1
        return chosen

    async def read(
        self,
        target: ReplicaState | None,
        sql: str,
        params: Sequence[Any] | None,
        run: Callable[[Backend], Awaitable[T]],
        on_primary: Callable[[], Awaitable[T]],
    ) -> T:
        """Run ``run`` on ``target``; when that replica fails, on another healthy one,
        and at last ``on_primary``: a read never fails because of a replica."""
        tried: list[ReplicaState] = []
        while target is not None:
            backend = target.backend
            if backend is not None:
                target.queries += 1
                target.in_use += 1
                try:
                    threshold = target.settings.slow_query_threshold
                    if querylog.wanted(threshold):
                        return await querylog.timed(
                            self.database, "fetch", sql, params, run(backend), threshold,
                            alias=target.label,
                        )  # fmt: skip
                    return await run(backend)
                except OperationalError as exc:
                    target.failed(exc)
                finally:
                    target.in_use -= 1
            tried.append(target)
            target = self.pick(tried)
            if target is None:
                self.primary_fallbacks += 1
        return await on_primary()


def _in_use(replica: ReplicaState) -> int:
    return replica.in_use


def _model_of(route: object) -> Any:
    """The model class a query terminal passed itself or its ``Query`` for."""
    if route is None or isinstance(route, type):
        return route
    return getattr(getattr(route, "_meta", None), "model", None)


def _forces_primary(route: object) -> bool:
    """``using_primary()`` or a row lock on the query."""
    if route is None or isinstance(route, type):
        return False
    return bool(getattr(route, "_primary", False)) or getattr(route, "_lock", None) is not None


class RoutedExecutor:
    """The ``Executor`` of one query on a database with replicas (see the module)."""

    __slots__ = ("_database", "_route", "_routing")

    def __init__(self, routing: Routing, route: object) -> None:
        self._routing = routing
        self._database = routing.database
        self._route = route

    @property
    def dialect(self) -> Dialect:
        return self._database.dialect

    @property
    def capabilities(self) -> Capabilities:
        return self._database.capabilities

    @property
    def in_transaction(self) -> bool:
        return self._database.in_transaction

    def _write(self, sql: str) -> None:
        routing = self._routing
        if routing.router is not None:
            routing.ask_router(_model_of(self._route), WRITE, sql)

    # A plain function returning a coroutine: one coroutine frame less per statement
    # than the database's own path when the read goes to the primary.
    def fetch(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> Coroutine[Any, Any, list[Row]]:
        if write:
            return self._write_fetch(sql, params)
        target = self._routing.read_target(self._route, sql)
        if target is None:
            return self._database.fetch(sql, params)
        return self._read(target, sql, params)

    async def _write_fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        self._write(sql)
        try:
            return await self._database.fetch(sql, params, write=True)
        finally:
            self._routing.wrote()

    async def _read(self, target: ReplicaState, sql: str, params: Sequence[Any]) -> list[Row]:
        routing = self._routing
        database = self._database
        backend = target.backend
        if backend is not None and not querylog.wanted(target.settings.slow_query_threshold):
            # the common case, without the closures of the fallback path
            target.queries += 1
            target.in_use += 1
            try:
                if runs_statements(backend):
                    return await backend.fetch(sql, params)
                async with backend.connection(write=False) as conn:
                    return await conn.fetch(sql, params)
            except OperationalError as exc:
                target.failed(exc)
            finally:
                target.in_use -= 1
            retry = routing.pick((target,))
            if retry is None:
                routing.primary_fallbacks += 1
                return await database.fetch(sql, params)
            target = retry
        return await routing.read(
            target,
            sql,
            params,
            lambda backend: _fetch(backend, sql, params),
            lambda: database.fetch(sql, params),
        )

    async def fetch_described(
        self, sql: str, params: Sequence[Any], *, write: bool = False
    ) -> tuple[list[str], list[Row]]:
        database = self._database
        if write:
            self._write(sql)
            try:
                return await database.fetch_described(sql, params, write=True)
            finally:
                self._routing.wrote()
        routing = self._routing
        target = routing.read_target(self._route, sql)
        if target is None:
            return await database.fetch_described(sql, params)
        return await routing.read(
            target,
            sql,
            params,
            lambda backend: _fetch_described(backend, sql, params),
            lambda: database.fetch_described(sql, params),
        )

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        self._write(sql)
        try:
            return await self._database.execute(sql, params)
        finally:
            self._routing.wrote()

    async def execute_many(self, sql: str, params_seq: Sequence[Sequence[Any]]) -> int:
        self._write(sql)
        try:
            return await self._database.execute_many(sql, params_seq)
        finally:
            self._routing.wrote()

    def atomic_block(self) -> Atomic:
        # Its commit marks the context (see Atomic); every statement in it is on the
        # primary.
        return self._database.atomic_block()

    async def copy_insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        schema: str | None = None,
        returning_pk: str | None = None,
    ) -> list[Any]:
        self._write(f"COPY {table}")
        try:
            return await self._database.copy_insert(
                table, columns, rows, schema=schema, returning_pk=returning_pk
            )
        finally:
            self._routing.wrote()

    async def stream(
        self, sql: str, params: Sequence[Any], *, chunk_size: int
    ) -> AsyncGenerator[list[Row], None]:
        routing = self._routing
        target = routing.read_target(self._route, sql)
        tried: list[ReplicaState] = []
        while target is not None:
            backend = target.backend
            started = False
            if backend is not None:
                target.queries += 1
                target.in_use += 1
                try:
                    async with backend.connection(write=False) as conn:
                        chunks = conn.stream(sql, params, chunk_size=chunk_size)
                        try:
                            async for chunk in chunks:
                                started = True
                                yield chunk
                        finally:
                            await chunks.aclose()
                    return
                except OperationalError as exc:
                    if started:
                        raise  # rows were handed out: a rerun elsewhere could differ
                    target.failed(exc)
                finally:
                    target.in_use -= 1
            tried.append(target)
            target = routing.pick(tried)
            if target is None:
                routing.primary_fallbacks += 1
        chunks = self._database.stream(sql, params, chunk_size=chunk_size)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()


async def _fetch(backend: Backend, sql: str, params: Sequence[Any]) -> list[Row]:
    if runs_statements(backend):
        return await backend.fetch(sql, params)
    async with backend.connection(write=False) as conn:
        return await conn.fetch(sql, params)


async def _fetch_described(
    backend: Backend, sql: str, params: Sequence[Any]
) -> tuple[list[str], list[Row]]:
    if runs_statements(backend):
        return await backend.fetch_described(sql, params)
    async with backend.connection(write=False) as conn:
        return await conn.fetch_described(sql, params)
