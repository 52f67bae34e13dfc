"""SQL functions for exact stored arithmetic on SQLite: decimals and checked integers.

SQLite computes ``+ - * / %`` on doubles once a TEXT decimal is involved, and turns an
integer overflow into a double: ``update(price=F("price") + Decimal("1.37"))`` or
``update(n=F("n") + 1)`` at the int64 limit would store a different value with no
error. The SQLite dialect renders such updates through these functions
(``Dialect.store_checks`` and ``Dialect.decimal_arith``): decimals are computed with
Python's ``Decimal`` and fitted to the column's scale, ints are checked, and a value the
column cannot hold raises ``DataError``, as PostgreSQL and MySQL refuse it.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import apsw

from oxyde.exceptions import DataError
from oxyde.sql.dialects.sqlite import DECIMAL_ARITH, STORE_DECIMAL, STORE_INT

__all__ = ["register_functions"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Wide enough for any column (PostgreSQL's NUMERIC goes to 1000 digits); the scale and
# precision checks below decide what fits, never a rounding of this context.
_CONTEXT = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_EVEN, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow,
])  # fmt: skip


def _decimal(value: Any) -> Decimal:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except decimal.InvalidOperation:
            raise DataError(f"not a decimal number: {value!r}") from None
    if isinstance(value, float):
        # a REAL written by something else: its shortest repr is the value it meant
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    raise DataError(f"not a decimal number: {value!r}")


def decimal_arith(lhs: Any, op: str, rhs: Any) -> str | None:
    if lhs is None or rhs is None:
        return None
    a, b = _decimal(lhs), _decimal(rhs)
    try:
        if op == "+":
            result = _CONTEXT.add(a, b)
        elif op == "-":
            result = _CONTEXT.subtract(a, b)
        elif op == "*":
            result = _CONTEXT.multiply(a, b)
        elif op == "/":
            # as PostgreSQL: enough digits for the scale, fitted to the column below
            result = decimal.Context(prec=40).divide(a, b) if b else _CONTEXT.divide(a, b)
        elif op == "%":
            result = _CONTEXT.remainder(a, b)
        else:
            raise DataError(f"unknown decimal operator {op!r}")
    except decimal.DivisionByZero:
        raise DataError("division by zero") from None
    except decimal.DecimalException as exc:
        raise DataError(f"decimal arithmetic failed: {lhs!r} {op} {rhs!r} ({exc!r})") from None
    return str(result)


def store_decimal(value: Any, precision: int | None, scale: int | None) -> str | None:
    if value is None:
        return None
    result = _decimal(value)
    if scale is not None:
        # like PostgreSQL's NUMERIC(p,s): round half away from zero to the scale
        result = result.quantize(Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    if precision is not None and scale is not None:
        digits = result.adjusted() + 1 if result else 1
        if digits > precision - scale:
            raise DataError(
                f"decimal {result} does not fit NUMERIC({precision},{scale}): at most "
                f"{precision - scale} digits before the point"
            )
    return str(result)


def store_int(value: Any, precision: int | None, scale: int | None) -> int | None:
    del precision, scale  # one signature for every store check
    if value is None:
        return None
    if isinstance(value, float):
        # an int operation that overflowed became a double; other doubles round as
        # PostgreSQL rounds a numeric into a bigint
        if value != value or value in (float("inf"), float("-inf")):
            raise DataError(f"{value} cannot be stored in an integer column")
        result = int(Decimal(repr(value)).to_integral_value(rounding=decimal.ROUND_HALF_UP))
    elif isinstance(value, str):
        result = int(_decimal(value).to_integral_value(rounding=decimal.ROUND_HALF_UP))
    elif isinstance(value, int):
        return value
    else:
        raise DataError(f"{value!r} cannot be stored in an integer column")
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise DataError(f"integer out of range: {value!r} does not fit a 64-bit integer column")
    return result


def register_functions(db: apsw.Connection) -> None:
    functions: tuple[tuple[str, Any], ...] = (
        (DECIMAL_ARITH, decimal_arith),
        (STORE_DECIMAL, store_decimal),
        (STORE_INT, store_int),
    )
    for name, function in functions:
        db.create_scalar_function(name, function, 3, deterministic=True)
