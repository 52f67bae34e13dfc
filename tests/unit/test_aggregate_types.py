"""Aggregates come back as the Python type a user expects, whatever the driver returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from oxyde.queries.query import convert_aggregate
from oxyde.sql.dialects import get_dialect


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
@pytest.mark.parametrize(
    ("function", "kind", "raw", "expected"),
    [
        # SUM() of BIGINT comes back as NUMERIC/DECIMAL on PostgreSQL and MySQL
        ("SUM", "int", Decimal("12"), 12),
        ("SUM", "int", 12, 12),
        ("SUM", "float", Decimal("1.5"), 1.5),
        ("SUM", "decimal", Decimal("1.50"), Decimal("1.50")),
        ("SUM", "decimal", 3.75, Decimal("3.75")),
        ("AVG", "int", Decimal("2.5"), 2.5),
        ("COUNT", "int", Decimal("3"), 3),
    ],
)
def test_aggregate_results_are_python_types(
    dialect: str, function: str, kind: str, raw: Any, expected: Any
) -> None:
    out = convert_aggregate(function, kind, None, get_dialect(dialect), raw)
    assert out == expected and type(out) is type(expected)


def test_null_aggregate_stays_none() -> None:
    assert convert_aggregate("SUM", "int", None, get_dialect("postgres"), None) is None
