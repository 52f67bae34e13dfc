"""Capabilities are declared, not probed for: the records agree with what each backend
implements, and no module of oxyde looks a backend member up with getattr/hasattr."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

import oxyde
from oxyde.backends import base
from oxyde.backends.capabilities import Capabilities

PACKAGE = Path(oxyde.__file__).parent

#: backend name -> (module with CAPABILITIES, backend class, connection class)
BACKENDS = {
    "postgres": (
        "oxyde.backends.postgres.capabilities",
        "oxyde.backends.postgres.pool.PostgresBackend",
        "oxyde.backends.postgres.connection.PostgresConnection",
    ),
    "sqlite": (
        "oxyde.backends.sqlite.capabilities",
        "oxyde.backends.sqlite.backend.SQLiteBackend",
        "oxyde.backends.sqlite.connection.SQLiteConnection",
    ),
    "mysql": (
        "oxyde.backends.mysql.capabilities",
        "oxyde.backends.mysql.pool.MySQLBackend",
        "oxyde.backends.mysql.connection.MySQLConnection",
    ),
}


def _load(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def _protocol_members(proto: type) -> set[str]:
    return {
        name
        for klass in proto.__mro__
        if klass not in (object,) and klass.__module__ == base.__name__
        for name in vars(klass)
        if not name.startswith("_")
    }


#: the optional operations, each with the flag that announces it and where it lives
OPTIONAL = [
    ("copy", base.CopyExecutor, "connection"),
    ("foreign_key_suspension", base.ForeignKeySuspension, "connection"),
    ("runs_statements", base.StatementBackend, "backend"),
    ("single_writer", base.SingleWriterBackend, "backend"),
]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize(("flag", "proto", "where"), OPTIONAL, ids=[o[0] for o in OPTIONAL])
def test_flag_matches_the_implementation(backend: str, flag: str, proto: type, where: str) -> None:
    """A true flag comes with the Protocol's operations; a false one without them, so
    nothing could be reached by probing that the record does not announce."""
    pytest.importorskip({"postgres": "psycopg", "sqlite": "apsw", "mysql": "MySQLdb"}[backend])
    caps_module, backend_path, connection_path = BACKENDS[backend]
    caps: Capabilities = importlib.import_module(caps_module).CAPABILITIES
    cls = _load(backend_path if where == "backend" else connection_path)
    own = _protocol_members(proto) - _protocol_members(
        base.Connection if where == "connection" else base.Backend
    )
    assert own, proto
    present = {name for name in own if hasattr(cls, name)}
    assert present == (own if getattr(caps, flag) else set()), (backend, flag, present)


def test_the_record_is_frozen_and_slotted() -> None:
    params = Capabilities.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert "__slots__" in vars(Capabilities)
    assert {f.name for f in dataclasses.fields(Capabilities)} >= {
        "returning",
        "copy",
        "savepoints",
        "transactional_ddl",
        "skip_locked",
        "single_writer",
    }


def _probed_names() -> set[str]:
    """Names that, looked up by string, would mean probing a backend, a connection or
    an executor: the members of the Protocols, the flags, and the attributes that
    used to be probed before the flags existed."""
    names: set[str] = set()
    for proto in (
        base.Executor,
        base.Connection,
        base.Backend,
        base.StatementBackend,
        base.SingleWriterBackend,
        base.CopyExecutor,
        base.ForeignKeySuspension,
    ):
        names |= _protocol_members(proto)
    names |= {f.name for f in dataclasses.fields(Capabilities)}
    names |= {"supports_copy", "can_copy", "aclose", "role", "uses_writer", "holds_writer"}
    return names


def _probes(source: str) -> list[tuple[int, str]]:
    """``(line, name)`` of each getattr/hasattr that looks up a probed name."""
    probed = _probed_names()
    return [
        (node.lineno, node.args[1].value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in probed
    ]


def test_the_probe_check_sees_a_probe() -> None:
    sample = (
        'x = getattr(conn, "copy_insert", None)\n'
        'y = hasattr(backend, "stats")\n'
        'z = getattr(instance, "name", None)\n'
    )
    assert _probes(sample) == [(1, "copy_insert"), (2, "stats")]


def test_no_module_probes_a_backend_for_a_member() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in _probes(path.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "check the capability flag and call through the Protocol instead:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_migrations_agree_with_the_record(backend: str) -> None:
    """Migrations decide offline (``sqlmigrate`` needs no server) whether a migration
    runs in one transaction and whether it suspends foreign keys; the backend's record
    must say the same, or a migration would count on a rollback the server lacks."""
    pytest.importorskip({"postgres": "psycopg", "sqlite": "apsw", "mysql": "MySQLdb"}[backend])
    from oxyde.migrations.executor import alter_ddl  # wherever the ALTER rules live
    from oxyde.sql.dialects import get_dialect

    caps: Capabilities = importlib.import_module(BACKENDS[backend][0]).CAPABILITIES
    ddl = alter_ddl(get_dialect(backend))
    assert ddl.transactional is caps.transactional_ddl
    if ddl.suspend_foreign_keys:
        assert caps.foreign_key_suspension
