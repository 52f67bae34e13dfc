"""The MySQL dialect as one server speaks it: what RETURNING it takes, found at connect."""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from oxyde.sql.dialects.base import Dialect
from oxyde.sql.dialects.mysql import MYSQL

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")

#: MariaDB version from which each statement takes RETURNING. UPDATE has none in any
#: release this backend supports (10.6 - 11.x).
_MARIADB_RETURNING: Final = (("delete", (10, 0, 5)), ("insert", (10, 5, 0)))

_variants: dict[tuple[frozenset[str], int, str], Dialect] = {}


def parse_server(info: str) -> tuple[str, tuple[int, int, int]]:
    """``("mariadb" | "mysql", version)`` from the server's version string.

    MariaDB before 11 may prefix its version with ``5.5.5-`` for old clients.
    """
    server = "mariadb" if "mariadb" in info.lower() else "mysql"
    text = info[6:] if server == "mariadb" and info.startswith("5.5.5-") else info
    match = _VERSION.search(text)
    if match is None:
        return server, (0, 0, 0)
    major, minor, patch = (int(g) for g in match.groups())
    return server, (major, minor, patch)


def returning_statements(info: str) -> frozenset[str]:
    server, version = parse_server(info)
    if server != "mariadb":
        return frozenset()
    return frozenset(stmt for stmt, since in _MARIADB_RETURNING if version >= since)


def server_dialect(info: str, insert_id_step: int = 1) -> Dialect:
    """``MYSQL`` with the server's RETURNING support and key step.

    Variants are shared, so every database on the same kind of server compiles each
    query shape once (the compiler caches per dialect object).
    """
    server = parse_server(info)[0]
    key = (
        returning_statements(info),
        max(1, insert_id_step),
        "mariadb" if server == "mariadb" else "",
    )
    if key == (frozenset(), 1, ""):
        return MYSQL
    dialect = _variants.get(key)
    if dialect is None:
        dialect = dataclasses.replace(
            MYSQL, returning_on=key[0], insert_id_step=key[1], server=key[2]
        )
        _variants[key] = dialect
    return dialect
