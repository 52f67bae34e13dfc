"""OpenTelemetry spans for statements (extra ``oxyde-cy[otel]``: ``opentelemetry-api``).

``oxyde.otel.instrument()`` makes every statement a CLIENT span named after its
operation and database (``SELECT shop``), with the database semantic conventions'
attributes: ``db.system.name``, ``db.namespace``, ``db.query.text`` (the SQL with
placeholders; values are never recorded), ``db.operation.name``, ``server.address``,
``server.port``, ``db.response.returned_rows``, and on failure ``error.type`` and
``db.response.status_code`` (the SQLSTATE or error number) with the span's status set to
error. Spans nest under the current span (a request's, say). ``uninstrument()`` stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oxyde.db import querylog
from oxyde.db.querylog import QueryEvent

__all__ = ["instrument", "is_instrumented", "uninstrument"]

#: oxyde backend -> ``db.system.name``
_SYSTEMS = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}

try:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - depends on the environment
    trace = None  # type: ignore[assignment]


def _operation(sql: str) -> str:
    word = sql.lstrip().split(None, 1)
    return word[0].upper() if word else ""


def _static_attributes(database: Any) -> dict[str, Any]:
    """The attributes that depend only on the database (cached on it)."""
    cached: dict[str, Any] | None = getattr(database, "_otel_attributes", None)
    if cached is not None:
        return cached
    parsed = database.parsed_url
    attributes: dict[str, Any] = {
        "db.system.name": _SYSTEMS.get(database.backend_name, "other_sql")
    }
    namespace = getattr(parsed, "database", None) or getattr(parsed, "path", None)
    if namespace:
        attributes["db.namespace"] = str(namespace)
    host = getattr(parsed, "host", None)
    if host:
        attributes["server.address"] = host
    port = getattr(parsed, "port", None)
    if port:
        attributes["server.port"] = port
    database._otel_attributes = attributes
    return attributes


def _bridge(tracer: Any) -> Callable[[QueryEvent], Callable[[QueryEvent], None]]:
    def start(event: QueryEvent) -> Callable[[QueryEvent], None]:
        static = _static_attributes(event.database)
        operation = _operation(event.sql)
        target = static.get("db.namespace") or static["db.system.name"]
        attributes = {**static, "db.query.text": event.sql}
        if operation:
            attributes["db.operation.name"] = operation
        span = tracer.start_span(
            f"{operation} {target}" if operation else str(target),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )

        def finish(done: QueryEvent) -> None:
            error = done.error
            if error is not None:
                span.set_attribute("error.type", type(error).__qualname__)
                code = getattr(error, "sqlstate", None) or getattr(error, "code", None)
                if code is not None:
                    span.set_attribute("db.response.status_code", str(code))
                span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
            elif done.rows is not None and done.operation != "execute":
                span.set_attribute("db.response.returned_rows", done.rows)
            span.end()

        return finish

    return start


def instrument(tracer_provider: Any = None) -> None:
    """Start making spans, from ``tracer_provider`` (default: the global one)."""
    if trace is None:
        raise ImportError("oxyde.otel needs opentelemetry-api: pip install 'oxyde-cy[otel]'")
    from oxyde._version import __version__

    tracer = trace.get_tracer("oxyde", __version__, tracer_provider=tracer_provider)
    querylog.tracer = _bridge(tracer)
    querylog.refresh()


def uninstrument() -> None:
    """Stop making spans."""
    querylog.tracer = None
    querylog.refresh()


def is_instrumented() -> bool:
    return querylog.tracer is not None
