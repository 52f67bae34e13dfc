"""The error classes a caller catches are importable from ``oxyde`` itself."""

from __future__ import annotations

import oxyde
import oxyde.exceptions


def test_connection_lost_is_an_operational_error_exported_twice() -> None:
    assert oxyde.ConnectionLostError is oxyde.exceptions.ConnectionLostError
    assert issubclass(oxyde.ConnectionLostError, oxyde.OperationalError)
    assert "ConnectionLostError" in oxyde.__all__
    assert "ConnectionLostError" in oxyde.exceptions.__all__
    error = oxyde.ConnectionLostError("gone", code="57P01")
    assert error.sqlstate == "57P01"


def test_programming_error_is_exported() -> None:
    assert oxyde.ProgrammingError is oxyde.exceptions.ProgrammingError
    assert "ProgrammingError" in oxyde.__all__
    assert not issubclass(oxyde.ProgrammingError, oxyde.OperationalError)
