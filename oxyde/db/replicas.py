"""Read replicas of one database: their configuration, pools, health and lag.

Each replica has a pool of its own. A monitor task samples every replica's lag in the
background (never on the query path) and keeps its state: ``healthy`` replicas serve
reads; one over its ``max_lag`` (``lagging``), unreachable or failing (``down``) is out
of rotation until a later sample finds it well again. A replica that fails a query is
taken down at once and its pool closed, so callers waiting on it fall back too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from oxyde.backends import backend_class
from oxyde.backends.settings import Duration, PoolSettings
from oxyde.backends.url import DatabaseURL, parse_url

if TYPE_CHECKING:
    from oxyde.backends.base import Backend

__all__ = ["Replica", "ReplicaState", "replicas_from"]

_log = logging.getLogger("oxyde.replicas")

CONNECTING: Final = "connecting"
HEALTHY: Final = "healthy"
LAGGING: Final = "lagging"
DOWN: Final = "down"

# Lag in seconds. PostgreSQL: zero when everything received is replayed (an idle
# primary sends nothing, so the last replay time alone would grow forever), else the
# age of the last replayed transaction; zero on a server not in recovery.
_PG_LAG = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) "
    "END::float8"
)
_MYSQL_LAG = "SHOW SLAVE STATUS"


@dataclass(frozen=True, init=False)
class Replica:
    """One read replica of a database: its URL (same backend as the primary), an
    optional ``name`` (default ``replica1``, ``replica2``... in order), its own
    ``PoolSettings`` (default: the primary's) and ``max_lag`` (seconds or timedelta;
    ``None``: any lag is accepted)."""

    url: str
    name: str | None
    settings: PoolSettings | None
    max_lag: float | None

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        settings: PoolSettings | None = None,
        max_lag: Duration | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"a replica URL must be a string, got {type(url).__name__}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"a replica name must be a non-empty string, got {name!r}")
        if settings is not None and not isinstance(settings, PoolSettings):
            raise TypeError(f"replica settings must be a PoolSettings, got {settings!r}")
        lag = None
        if max_lag is not None:
            if isinstance(max_lag, timedelta):
                lag = max_lag.total_seconds()
            elif isinstance(max_lag, (int, float)) and not isinstance(max_lag, bool):
                lag = float(max_lag)
            if lag is None or not 0 <= lag < math.inf:
                raise ValueError(
                    f"Replica.max_lag must be a number of seconds >= 0 or a timedelta, "
                    f"got {max_lag!r}"
                )
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "max_lag", lag)

    def __repr__(self) -> str:
        return f"Replica({parse_url(self.url).redacted()!r}, name={self.name!r})"


def _as_replica(value: object) -> Replica:
    if isinstance(value, Replica):
        return value
    if isinstance(value, str):
        return Replica(value)
    if isinstance(value, Mapping):
        try:
            return Replica(**value)
        except TypeError as exc:
            raise TypeError(
                f"a replica mapping takes url, name, settings and max_lag: {exc}"
            ) from None
    raise TypeError(f"a replica is a URL, a mapping or a Replica, got {value!r}")


class ReplicaState:
    """A configured replica at run time: its pool, state, last lag and counters."""

    def __init__(
        self, replica: Replica, name: str, parsed: DatabaseURL, settings: PoolSettings, alias: str
    ) -> None:
        self.name = name
        self.parsed = parsed
        self.settings = settings
        self.max_lag = replica.max_lag
        #: the name its pool and messages use
        self.label = f"{alias}/{name}"
        self.backend: Backend | None = None
        self._state: str = CONNECTING
        #: called after the state changed (the routing keeps its list of healthy ones)
        self.on_change: Callable[[], None] | None = None
        self.lag: float | None = None
        self.last_error: str | None = None
        self.last_check: float | None = None
        self.in_use = 0
        self.queries = 0
        self.fallbacks = 0
        self.errors = 0
        self._closing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<replica {self.label!r} {self.state}>"

    @property
    def state(self) -> str:
        """One of "connecting", "healthy", "lagging" or "down"."""
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        changed = state != self._state
        self._state = state
        if changed and self.on_change is not None:
            self.on_change()

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.parsed.redacted(),
            "state": self.state,
            "lag": self.lag,
            "max_lag": self.max_lag,
            "queries": self.queries,
            "fallbacks": self.fallbacks,
            "errors": self.errors,
            "in_use": self.in_use,
            "last_error": self.last_error,
        }

    # -- state changes ----------------------------------------------------------------

    def failed(self, exc: BaseException) -> None:
        """A query on it failed: out of rotation now, its pool closed in the background
        (callers waiting for one of its connections then fail over as well)."""
        self.errors += 1
        self.fallbacks += 1
        self.last_error = str(exc) or type(exc).__name__
        if self.state != DOWN:
            _log.warning("replica %r taken out of rotation: %s", self.label, self.last_error)
        self.state = DOWN
        self._drop_backend()

    def _drop_backend(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            task = asyncio.get_running_loop().create_task(_close_quietly(backend))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        self.state = DOWN
        self._drop_backend()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- health -----------------------------------------------------------------------

    async def check(self, limit: float) -> None:
        """Connect if needed, sample the lag and set the state, within ``limit``
        seconds (never raises)."""
        try:
            async with asyncio.timeout(limit):
                backend = self.backend
                if backend is None:
                    backend = await self._open()
                lag = await _sample_lag(backend, self.parsed.backend)
        except Exception as exc:  # TimeoutError, OperationalError...
            self.last_check = time.monotonic()
            self.last_error = str(exc) or type(exc).__name__
            if self.state != DOWN:
                _log.warning("replica %r is down: %s", self.label, self.last_error)
            self.state = DOWN
            self._drop_backend()
            return
        self.last_check = time.monotonic()
        self.lag = lag
        over = self.max_lag is not None and not lag <= self.max_lag
        state = LAGGING if over else HEALTHY
        if state != self.state:
            log = _log.warning if state == LAGGING else _log.info
            log("replica %r is %s (lag %.3f s)", self.label, state, lag)
        self.state = state

    async def _open(self) -> Backend:
        factory = backend_class(self.parsed.backend)
        backend = factory(self.parsed, self.settings, name=self.label)
        try:
            await backend.open()
        except BaseException:
            await _close_quietly(backend)
            raise
        self.backend = backend
        return backend


async def _close_quietly(backend: Backend) -> None:
    try:
        await backend.close()
    except Exception:
        _log.debug("closing a replica pool failed", exc_info=True)


async def _sample_lag(backend: Backend, kind: str) -> float:
    async with backend.connection(write=False) as conn:
        if kind == "postgres":
            rows = await conn.fetch(_PG_LAG, ())
            return float(rows[0][0] or 0.0)
        if kind == "mysql":
            names, rows = await conn.fetch_described(_MYSQL_LAG, ())
            if not rows:
                return 0.0  # not a replica (a copy kept some other way)
            value = rows[0][names.index("Seconds_Behind_Master")]
            # NULL: the replication threads are stopped; the data is as old as it gets.
            return math.inf if value is None else float(value)
        await conn.fetch("SELECT 1", ())
        return 0.0


def replicas_from(
    values: Sequence[object], alias: str, primary: DatabaseURL, settings: PoolSettings
) -> list[ReplicaState]:
    """Validate the configured replicas of database ``alias`` (``ValueError`` for a
    backend other than the primary's or a repeated name) into their run-time state."""
    if isinstance(values, (str, Mapping, Replica)):
        values = [values]
    states: list[ReplicaState] = []
    names = {alias}
    for index, value in enumerate(values, 1):
        replica = _as_replica(value)
        parsed = parse_url(replica.url)
        if parsed.backend != primary.backend:
            raise ValueError(
                f"replica {parsed.redacted()!r} of database {alias!r} is a {parsed.backend} "
                f"URL but its primary is {primary.backend}; a replica must be of the same "
                "backend"
            )
        name = replica.name if replica.name is not None else f"replica{index}"
        if name in names:
            raise ValueError(
                f"database {alias!r}: replica name {name!r} is used twice (or is the "
                "database's own alias)"
            )
        names.add(name)
        own = replica.settings if replica.settings is not None else settings
        states.append(ReplicaState(replica, name, parsed, own, alias))
    return states


async def monitor(replicas: Sequence[ReplicaState], interval: float) -> None:
    """Sample every replica each ``interval`` seconds, forever (a background task)."""
    timeout = max(interval * 2, 1.0)
    while True:
        await asyncio.gather(*(r.check(timeout) for r in replicas))
        await asyncio.sleep(interval)


async def close_all(replicas: Sequence[ReplicaState]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.gather(*(r.close() for r in replicas))
