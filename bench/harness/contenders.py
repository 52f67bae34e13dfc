"""The contenders: which implementation, which virtualenv, which databases, which role."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker import spec

BENCH_DIR = Path(__file__).resolve().parent.parent
CONTENDERS_DIR = BENCH_DIR / "contenders"

ALL_DBS = tuple(spec.DATABASES)


@dataclass(frozen=True)
class Contender:
    name: str
    #: Folder under ``bench/contenders`` holding ``impl.py``.
    impl: str
    #: Folder under ``bench/contenders`` holding ``requirements.txt`` for the contender's own
    #: virtualenv; ``None`` runs it from the repository's virtualenv (oxyde itself).
    venv: str | None
    dbs: tuple[str, ...]
    #: ``oxyde`` (ours), ``public`` (the public Oxyde release), ``orm`` or ``raw``.
    role: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    #: Environment variable naming the interpreter to run it with, instead of a virtualenv
    #: of its own: an oxyde checkout built elsewhere (another revision, for before/after).
    python_from: str | None = None

    @property
    def impl_path(self) -> Path:
        return CONTENDERS_DIR / self.impl / "impl.py"

    @property
    def requirements(self) -> Path | None:
        return None if self.venv is None else CONTENDERS_DIR / self.venv / "requirements.txt"


CONTENDERS: tuple[Contender, ...] = (
    Contender(
        "oxyde-c",
        "oxyde",
        None,
        ALL_DBS,
        "oxyde",
        "this repository's oxyde, compiled speedups (OXYDE_IMPL=c)",
        env={"OXYDE_IMPL": "c"},
    ),
    Contender(
        "oxyde-py",
        "oxyde",
        None,
        ALL_DBS,
        "oxyde",
        "this repository's oxyde, pure-Python speedups (OXYDE_IMPL=python)",
        env={"OXYDE_IMPL": "python"},
    ),
    Contender(
        "oxyde-before",
        "oxyde",
        None,
        ALL_DBS,
        "oxyde",
        "oxyde at another revision, compiled (the interpreter of that checkout's virtualenv "
        "in OXYDE_BENCH_BEFORE_PYTHON)",
        env={"OXYDE_IMPL": "c"},
        python_from="OXYDE_BENCH_BEFORE_PYTHON",
    ),
    Contender(
        "oxyde-unsliced",
        "oxyde",
        None,
        ALL_DBS,
        "oxyde",
        "this repository's oxyde, compiled, with large results converted and loaded in one "
        "piece (no yielding to the event loop): what slicing costs and buys",
        env={"OXYDE_IMPL": "c"},
        options={"unsliced": True},
    ),
    Contender(
        "oxyde-public",
        "oxyde",
        "oxyde-public",
        ALL_DBS,
        "public",
        "the public Oxyde release from PyPI (Rust core)",
    ),
    Contender("tortoise", "tortoise", "tortoise", ALL_DBS, "orm", "Tortoise ORM"),
    Contender("sqlalchemy", "sqlalchemy", "sqlalchemy", ALL_DBS, "orm", "SQLAlchemy 2 async ORM"),
    Contender(
        "psycopg",
        "psycopg",
        "psycopg",
        ("postgres",),
        "raw",
        "raw psycopg 3 async with psycopg_pool",
    ),
    Contender("asyncpg", "asyncpg", "asyncpg", ("postgres",), "raw", "raw asyncpg with its pool"),
    Contender("apsw", "apsw", "apsw", ("sqlite",), "raw", "raw apsw, called synchronously"),
    Contender(
        "apsw-thread",
        "apsw",
        "apsw",
        ("sqlite",),
        "raw",
        "raw apsw through one worker thread",
        options={"threaded": True},
    ),
    Contender(
        "mysqlclient",
        "mysqlclient",
        "mysqlclient",
        ("mysql",),
        "raw",
        "raw mysqlclient, one worker thread per pooled connection",
    ),
)

BY_NAME = {c.name: c for c in CONTENDERS}

#: The contender the "/ raw" ratio column divides by, per database.
RAW_REFERENCE = {"sqlite": "apsw", "postgres": "psycopg", "mysql": "mysqlclient"}
#: ... and the ones the ratio columns compare.
OURS = "oxyde-c"
PUBLIC = "oxyde-public"
#: Shown as its own ratio column when it runs: the same tests on an earlier revision.
BEFORE = "oxyde-before"

#: Run only when named in ``--contenders``.
BY_NAME_ONLY = frozenset({"oxyde-unsliced"})

#: What ``--quick`` runs unless ``--contenders`` says otherwise.
QUICK_DEFAULT = (
    "oxyde-c",
    "oxyde-py",
    "oxyde-public",
    "psycopg",
    "asyncpg",
    "apsw",
    "apsw-thread",
    "mysqlclient",
)


def select(names: list[str] | None, quick: bool) -> list[Contender]:
    if not names:
        # An earlier revision runs by default only when its interpreter was named.
        chosen = (
            QUICK_DEFAULT
            if quick
            else tuple(c.name for c in CONTENDERS if c.name not in BY_NAME_ONLY)
        )
        return [
            BY_NAME[name]
            for name in chosen
            if BY_NAME[name].python_from is None or os.environ.get(BY_NAME[name].python_from)
        ]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise SystemExit(
            f"unknown contender(s) {', '.join(unknown)}; choose from {', '.join(BY_NAME)}"
        )
    return [BY_NAME[name] for name in names]
