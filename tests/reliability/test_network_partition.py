"""A network partition between the application and PostgreSQL / MariaDB: a TCP proxy
(``tcpproxy.py``, in a process of its own) stops all traffic for ``PAUSE`` seconds
while queries are in flight.

What must hold (checked in CI): every call caught by the partition fails, with the
caller's timeout or the driver's (``TimeoutError``, ``TransactionTimeoutError``,
``OperationalError``) rather than hanging; calls made during the partition fail the same
way; once traffic flows again the pool refills by itself and every call succeeds; no
connection stays lent. How long each of those took is measured by the ``timing`` test.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from oxyde import OperationalError, PoolSettings, atomic
from tests.reliability.tcpproxy import ProxyProcess

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

#: how long traffic stops
PAUSE = 5.0
#: the callers' own bound on a statement; also the drivers' connect timeout
STATEMENT_TIMEOUT = 2.0
IN_FLIGHT = 8
SLEEP = {"postgres": "SELECT pg_sleep(0.5)", "mysql": "SELECT SLEEP(0.5)"}
#: driver options: a connect attempt (and on MySQL a read) gives up after this long
DRIVER_OPTIONS = {
    "postgres": f"connect_timeout={int(STATEMENT_TIMEOUT)}",
    "mysql": f"connect_timeout={int(STATEMENT_TIMEOUT)}&read_timeout={int(STATEMENT_TIMEOUT)}",
}


def through(url: str, port: int, backend: str) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"
    query = f"{parts.query}&{DRIVER_OPTIONS[backend]}" if parts.query else DRIVER_OPTIONS[backend]
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@dataclass
class Outcome:
    #: per call caught by the partition: (error type name, seconds until it failed)
    in_flight: list[tuple[str, float]] = field(default_factory=list)
    #: the same for calls started while traffic was stopped
    during: list[tuple[str, float]] = field(default_factory=list)
    #: seconds from the end of the partition until a full round of calls succeeded
    refill: float = 0.0
    #: rounds of calls tried before one fully succeeded
    rounds: int = 0
    stats: dict[str, int] = field(default_factory=dict)


async def timed_call(database: Any, sql: str, in_transaction: bool) -> tuple[str, float]:
    start = time.monotonic()
    try:
        async with asyncio.timeout(STATEMENT_TIMEOUT):
            if in_transaction:
                async with atomic():
                    await database.fetch(sql, ())
            else:
                await database.fetch(sql, ())
    except (TimeoutError, OperationalError) as exc:
        return type(exc).__name__, time.monotonic() - start
    return "ok", time.monotonic() - start


async def run_partition(make_database: Any, database_url: str, backend: str) -> Outcome:
    target = urlsplit(database_url)
    outcome = Outcome()
    async with ProxyProcess(target.hostname or "127.0.0.1", target.port or 0) as proxy:
        settings = PoolSettings(
            max_connections=4,
            min_connections=2,
            acquire_timeout=STATEMENT_TIMEOUT,
            pg_reconnect_timeout=STATEMENT_TIMEOUT,
        )
        database = await make_database(settings, url=through(database_url, proxy.port, backend))
        sql = SLEEP[backend]
        # Every connection of the pool opened and used once.
        await asyncio.gather(*(database.fetch(sql, ()) for _ in range(4)))
        calls = [
            asyncio.create_task(timed_call(database, sql, in_transaction=i % 2 == 1))
            for i in range(IN_FLIGHT)
        ]
        await asyncio.sleep(0.1)  # sent, not answered
        await proxy.pause(PAUSE)  # traffic flows again by itself PAUSE seconds later
        paused_at = time.monotonic()
        outcome.in_flight = await asyncio.gather(*calls)
        outcome.during = await asyncio.gather(
            *(timed_call(database, "SELECT 1", in_transaction=i % 2 == 1) for i in range(4))
        )
        await asyncio.sleep(max(0.0, PAUSE - (time.monotonic() - paused_at)))
        healed_at = paused_at + PAUSE
        while True:
            outcome.rounds += 1
            results = await asyncio.gather(
                *(timed_call(database, "SELECT 1", in_transaction=i % 2 == 1) for i in range(8))
            )
            if all(kind == "ok" for kind, _ in results):
                break
            if time.monotonic() - healed_at > 60:
                raise AssertionError(f"the pool did not recover within 60 s: {results}")
            await asyncio.sleep(0.2)
        outcome.refill = time.monotonic() - healed_at
        outcome.stats = database.stats()
        await database.disconnect()
    return outcome


@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_a_partition_fails_the_calls_in_flight_and_the_pool_recovers(
    make_database: Any, database_url: str, backend_name: str
) -> None:
    outcome = await run_partition(make_database, database_url, backend_name)
    failures = {"TimeoutError", "TransactionTimeoutError", "OperationalError"}
    failures |= {"ConnectionLostError"}
    kinds = [kind for kind, _ in outcome.in_flight]
    assert len(kinds) == IN_FLIGHT and all(kind in failures for kind in kinds), kinds
    # Calls made during the partition fail too: nothing stalls the process meanwhile (on
    # PostgreSQL a cancel request never holds the GIL: backends/postgres/cancel.py).
    during = [kind for kind, _ in outcome.during]
    assert len(during) == 4 and all(kind in failures for kind in during), during
    # Recovered: a full round of calls (plain and in transactions) succeeded, and no
    # connection is left lent.
    assert outcome.rounds >= 1
    in_use = outcome.stats.get("in_use", 0) if backend_name == "mysql" else 0
    assert in_use == 0


@pytest.mark.timing
@pytest.mark.parametrize("backend_name", ["postgres", "mysql"])
async def test_partition_timings(make_database: Any, database_url: str, backend_name: str) -> None:
    outcome = await run_partition(make_database, database_url, backend_name)
    slowest = max(seconds for _, seconds in outcome.in_flight + outcome.during)
    print(
        f"\n{backend_name}: in flight {outcome.in_flight}\nduring {outcome.during}\n"
        f"refill {outcome.refill:.2f}s in {outcome.rounds} rounds, stats {outcome.stats}"
    )
    # Each call fails within its own timeout (plus scheduling slack), never later.
    assert slowest < STATEMENT_TIMEOUT + 1.0
    # Back to full service within a few seconds of the network healing.
    assert outcome.refill < 10.0
