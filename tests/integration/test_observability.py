"""Watching statements on every backend: structured log records, query hooks,
OpenTelemetry spans, and the one shape of ``stats()``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from oxyde import atomic, events
from oxyde.db.database import STATS_KEYS
from oxyde.db.querylog import QueryEvent
from oxyde.exceptions import OxydeError


def placeholder(database: Any) -> str:
    return {"postgres": "$1", "mysql": "%s"}.get(database.backend_name, "?")


@pytest.fixture
def hooks() -> Iterator[None]:
    yield
    events.remove_all_query_hooks()


async def test_log_records_carry_their_data(
    database: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sql = f"SELECT 1 UNION ALL SELECT {placeholder(database)}"
    with caplog.at_level(logging.DEBUG, logger="oxyde.sql"):
        await database.fetch(sql, [2])
    [record] = [r for r in caplog.records if r.name == "oxyde.sql"]
    assert record.sql == sql  # type: ignore[attr-defined]
    assert record.params == 1  # type: ignore[attr-defined]
    assert record.rows == 2  # type: ignore[attr-defined]
    assert record.alias == "default"  # type: ignore[attr-defined]
    assert record.operation == "fetch"  # type: ignore[attr-defined]
    assert record.failed is False  # type: ignore[attr-defined]
    assert isinstance(record.duration, float) and record.duration >= 0  # type: ignore[attr-defined]


async def test_hooks_see_each_statement_before_and_after(database: Any, hooks: None) -> None:
    seen: list[tuple[str, QueryEvent, float | None]] = []
    events.add_query_hook(
        before=lambda e: seen.append(("before", e, e.duration)),
        after=lambda e: seen.append(("after", e, e.duration)),
    )
    await database.fetch(f"SELECT {placeholder(database)}", [5])
    [(when1, event, before_duration), (when2, same, after_duration)] = seen
    assert (when1, when2) == ("before", "after") and event is same
    assert before_duration is None and after_duration is not None and after_duration >= 0
    assert (event.alias, event.backend, event.operation) == (
        "default",
        database.backend_name,
        "fetch",
    )
    assert event.params == [5] and event.rows == 1 and event.error is None
    assert not event.in_transaction


async def test_hooks_see_errors_and_transactions(database: Any, hooks: None) -> None:
    after: list[QueryEvent] = []
    hook = events.add_query_hook(after=after.append)
    with pytest.raises(OxydeError):
        await database.fetch("SELECT * FROM no_such_table_here", [])
    assert isinstance(after[-1].error, OxydeError)
    async with atomic():
        await database.execute("SELECT 1", [])
    assert after[-1].in_transaction and after[-1].operation == "execute"
    hook.remove()
    count = len(after)
    await database.fetch("SELECT 1", [])
    assert len(after) == count


async def test_a_failing_hook_does_not_fail_the_query(
    database: Any, hooks: None, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: QueryEvent) -> None:
        raise RuntimeError("broken hook")

    events.add_query_hook(before=broken, after=broken)
    with caplog.at_level(logging.WARNING, logger="oxyde.events"):
        assert await database.fetch("SELECT 1", []) == [(1,)]
    assert [r.levelno for r in caplog.records if r.name == "oxyde.events"] == [30, 30]


def test_hooks_are_checked() -> None:
    with pytest.raises(TypeError, match="needs before=, after= or both"):
        events.add_query_hook()
    with pytest.raises(TypeError, match="takes a callable"):
        events.add_query_hook(after="print")  # type: ignore[arg-type]


async def test_spans_follow_the_database_conventions(database: Any) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, StatusCode

    from oxyde import otel

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.instrument(tracer_provider=provider)
    try:
        sql = f"SELECT {placeholder(database)}"
        await database.fetch(sql, [7])
        with pytest.raises(OxydeError):
            await database.fetch("SELECT * FROM no_such_table_here", [])
    finally:
        otel.uninstrument()
    await database.fetch("SELECT 1", [])  # not traced any more
    ok, failed = exporter.get_finished_spans()
    system = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}[database.backend_name]
    assert ok.kind is SpanKind.CLIENT
    assert ok.attributes is not None and failed.attributes is not None
    assert ok.attributes["db.system.name"] == system
    assert ok.attributes["db.query.text"] == sql
    assert ok.attributes["db.operation.name"] == "SELECT"
    assert ok.attributes["db.response.returned_rows"] == 1
    namespace = database.parsed_url.database
    assert ok.attributes["db.namespace"] == namespace
    assert ok.name == f"SELECT {namespace}"
    if database.backend_name != "sqlite":
        assert ok.attributes["server.address"] == database.parsed_url.host
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"]
    assert "db.response.status_code" in failed.attributes
    assert not otel.is_instrumented()


async def test_stats_have_one_shape(database: Any) -> None:
    idle = database.stats()
    assert set(STATS_KEYS) <= set(idle)
    assert all(isinstance(idle[key], int) for key in STATS_KEYS)
    assert idle["in_use"] == 0 and idle["max"] >= 1 and idle["connections_lost"] == 0
    async with atomic():
        await database.execute("SELECT 1", [])
        busy = database.stats()
        assert busy["in_use"] >= 1
        assert busy["size"] >= busy["in_use"]
    await database.disconnect()
    assert database.stats() == dict.fromkeys(STATS_KEYS, 0)
