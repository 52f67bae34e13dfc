"""The SQL of a broad statement corpus (``tests/support/sqlcorpus.py``) on every dialect,
byte for byte against ``golden/sql_corpus.json``, under both SQL builders.

Set ``OXYDE_UPDATE_GOLDEN=1`` to rewrite the golden file after a deliberate change (then
review the diff): it is written from the pure-Python builder, and the compiled one must
agree with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oxyde import _impl
from oxyde.sql.compiler import clear_cache
from tests.support.sqlcorpus import DIALECTS, render_corpus

GOLDEN = Path(__file__).resolve().parent / "golden" / "sql_corpus.json"


def _compiled_required() -> bool:
    return os.environ.get("OXYDE_IMPL", "").strip().lower() == "c" or bool(os.environ.get("CI"))


def _builder(which: str) -> ModuleType:
    if which == "python":
        return _impl.load_pure("sqlbuild")
    try:
        return _impl.load_compiled("sqlbuild")
    except ImportError as exc:
        if _compiled_required():
            pytest.fail(f"compiled sqlbuild is required here but unavailable: {exc}")
        pytest.skip(f"compiled sqlbuild unavailable: {exc}")


@pytest.fixture(params=["python", "c"])
def builder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The SQL builder under test, also as the one the query API compiles with."""
    module = _builder(request.param)
    clear_cache()
    monkeypatch.setattr(_impl, "sqlbuild", module)
    yield module
    clear_cache()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_matches_the_golden_file(dialect: str, builder: Any) -> None:
    got = render_corpus(dialect, builder)
    if os.environ.get("OXYDE_UPDATE_GOLDEN") and builder is _impl.load_pure("sqlbuild"):
        golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
        golden[dialect] = got
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[dialect]
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name
