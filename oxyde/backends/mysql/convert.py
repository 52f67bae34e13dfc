"""The driver-level converters of result values: temporal text parsed by C code.

mysqlclient turns each DATETIME, TIMESTAMP and DATE value into a Python object through
a converter function called with the server's text. Its own converters slice and
``int()`` every field in Python, about ten times the cost of ``fromisoformat``; with a
few datetime columns per row they dominate reading a large result. The server always
sends these columns in ISO form (``YYYY-MM-DD[ HH:MM:SS[.ffffff]]``), which
``fromisoformat`` parses to the same values. Anything it refuses (zero dates such as
``0000-00-00``, which the server can hold) goes to the driver's converter, so those keep
reading as the driver has always read them (``None``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import MySQLdb.converters
import MySQLdb.times
from MySQLdb.constants import FIELD_TYPE

_datetime_iso = datetime.fromisoformat
_date_iso = date.fromisoformat
_driver_datetime = MySQLdb.times.DateTime_or_None
_driver_date = MySQLdb.times.Date_or_None


def datetime_or_none(text: str) -> datetime | date | None:
    try:
        return _datetime_iso(text)
    except ValueError:
        result: datetime | date | None = _driver_datetime(text)
        return result


def date_or_none(text: str) -> date | None:
    try:
        return _date_iso(text)
    except ValueError:
        result: date | None = _driver_date(text)
        return result


def conversions() -> dict[Any, Any]:
    """The driver's conversion table with the temporal readers replaced (a new dict:
    the driver's own is shared by every connection in the process)."""
    table: dict[Any, Any] = dict(MySQLdb.converters.conversions)
    table[FIELD_TYPE.DATETIME] = datetime_or_none
    table[FIELD_TYPE.TIMESTAMP] = datetime_or_none
    table[FIELD_TYPE.DATE] = date_or_none
    return table


CONVERSIONS: Final = conversions()
