"""Every public name of the public Oxyde 0.8 exists here and accepts the same parameters.

``public_api.json`` is written by ``tools/compat_names.py`` from the released package; it
is checked in, so this test needs nothing but this package. Extras (more names, more
keyword arguments with defaults) are allowed; a missing name, a parameter that is
missing or of another kind, or a parameter that became required is drift.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

API = json.loads((Path(__file__).parent / "public_api.json").read_text(encoding="utf-8"))

P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)

#: Public names deliberately not provided (see docs/compatibility.md), with why.
NOT_PROVIDED: dict[str, str] = {}

_IR = "the public Oxyde's Rust-core IR; queries here compile to SQL in Python"
#: Members (``Class.member``, in every module) that differ on purpose, with why; each is
#: a row of docs/compatibility.md.
DIFFERENT: dict[str, str] = {
    "AsyncDatabase.execute": "execute(sql, params) runs SQL; the public one takes IR",
    "AsyncTransaction.execute": "execute(sql, params) runs SQL; the public one takes IR",
    "SupportsExecute.execute": "execute(sql, params) runs SQL; the public one takes IR",
    "AsyncTransaction.__init__": "transactions are made by atomic(), never directly",
    "AsyncTransaction.id": "the Rust core's transaction handle",
    "Aggregate.to_ir": _IR,
    "Avg.to_ir": _IR,
    "Coalesce.to_ir": _IR,
    "Concat.to_ir": _IR,
    "Count.to_ir": _IR,
    "Max.to_ir": _IR,
    "Min.to_ir": _IR,
    "RawSQL.to_ir": _IR,
    "Sum.to_ir": _IR,
    "Q.to_filter_node": _IR,
    "PoolSettings.to_payload": "the settings dict sent to the Rust core",
    "OxydeFieldInfo.__init__": "made by Field(); Pydantic's FieldInfo takes keywords only",
    "MigrationContext.__init__": "contexts are made by the migration runner, never directly",
}


def _cases() -> list[tuple[str, str]]:
    return [(module, name) for module, names in API["modules"].items() for name in names]


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def parameter_problems(theirs: list[dict[str, Any]], obj: Any, *, drop_first: bool) -> list[str]:
    """Why a call written for ``theirs`` could fail against ``obj`` (empty: none)."""
    kinds = {spec["kind"] for spec in theirs}
    if theirs and kinds <= {"VAR_POSITIONAL", "VAR_KEYWORD"}:
        return []  # a forwarding signature: it says nothing about the parameters
    sig = _signature(obj)
    if sig is None:
        return ["no signature"]
    ours = list(sig.parameters.values())
    if drop_first and ours and ours[0].kind in POSITIONAL:
        ours = ours[1:]
    by_name = {p.name: p for p in ours}
    var_pos = any(p.kind is P.VAR_POSITIONAL for p in ours)
    var_kw = any(p.kind is P.VAR_KEYWORD for p in ours)
    positional = [p for p in ours if p.kind in POSITIONAL]
    problems: list[str] = []
    their_names = set()
    for index, spec in enumerate(theirs):
        name, kind, has_default = (
            spec["name"],
            inspect._ParameterKind[spec["kind"]],
            spec["default"],
        )
        their_names.add(name)
        if kind is P.VAR_POSITIONAL:
            if not var_pos:
                problems.append(f"*{name} is not accepted")
            continue
        if kind is P.VAR_KEYWORD:
            if not var_kw:
                problems.append(f"**{name} is not accepted")
            continue
        mine = by_name.get(name)
        if kind in POSITIONAL:
            # Their callers may pass it by position: ours must sit at the same index.
            at = positional[index] if index < len(positional) else None
            misplaced = at is None or (at.name != name and kind is P.POSITIONAL_OR_KEYWORD)
            if misplaced and not (var_pos and (mine is None or var_kw)):
                problems.append(f"{name!r} is not positional parameter {index}")
                continue
            if kind is P.POSITIONAL_OR_KEYWORD and mine is None and not var_kw:
                problems.append(f"{name!r} cannot be passed by keyword")
                continue
            target = at if at is not None else mine
        else:
            if mine is None or mine.kind not in (P.KEYWORD_ONLY, P.POSITIONAL_OR_KEYWORD):
                if not var_kw:
                    problems.append(f"keyword {name!r} is not accepted")
                continue
            target = mine
        if (
            has_default
            and target is not None
            and target.default is P.empty
            and target.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
        ):
            problems.append(f"{name!r} is optional there and required here")
    problems.extend(
        f"extra parameter {p.name!r} is required"
        for p in ours
        if p.name not in their_names
        and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
        and p.default is P.empty
    )
    return problems


def test_the_list_was_made_from_the_released_package() -> None:
    assert API["package"] == "oxyde"
    assert API["version"].startswith("0.8.")
    assert len(_cases()) > 100


@pytest.mark.parametrize(("module_name", "name"), _cases())
def test_public_name(module_name: str, name: str) -> None:
    spec = API["modules"][module_name][name]
    if f"{module_name}.{name}" in NOT_PROVIDED:
        pytest.skip(NOT_PROVIDED[f"{module_name}.{name}"])
    module = importlib.import_module(module_name)
    assert hasattr(module, name), f"{module_name}.{name} is missing"
    value = getattr(module, name)
    kind = spec["kind"]
    problems: list[str] = []
    if kind == "module":
        assert inspect.ismodule(value), f"{module_name}.{name} is not a module"
        return
    if kind in ("function", "coroutine function"):
        assert callable(value), f"{module_name}.{name} is not callable"
        if spec["parameters"] is not None:
            problems = parameter_problems(spec["parameters"], value, drop_first=False)
    elif kind == "class":
        assert isinstance(value, type), f"{module_name}.{name} is not a class"
        problems = class_problems(name, spec, value)
    assert not problems, f"{module_name}.{name}: " + "; ".join(problems)


def class_problems(name: str, spec: dict[str, Any], cls: type) -> list[str]:
    ours_bases = {k.__name__ for k in cls.__mro__}
    # The exception hierarchy and the like; implementation bases (mixins) may differ.
    problems = [
        f"is not a subclass of {base}"
        for base in spec["bases"]
        if base.endswith(("Error", "Exception", "Returned")) and base not in ours_bases
    ]
    if spec.get("init") is not None and f"{name}.__init__" not in DIFFERENT:
        problems += [
            f"__init__: {p}"
            for p in parameter_problems(spec["init"], cls.__init__, drop_first=True)
        ]
    for member, mspec in spec["members"].items():
        if f"{name}.{member}" in DIFFERENT:
            continue
        if not hasattr(cls, member):
            problems.append(f"{member} is missing")
            continue
        raw = inspect.getattr_static(cls, member)
        if mspec["kind"] == "property" or mspec["parameters"] is None:
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            func, drop = raw.__func__, True
            drop = isinstance(raw, classmethod)
        elif isinstance(raw, property):
            problems.append(f"{member} is a property here, a method there")
            continue
        else:
            func, drop = getattr(cls, member), False
            if inspect.isfunction(raw):
                func, drop = raw, True
        problems += [
            f"{member}: {p}" for p in parameter_problems(mspec["parameters"], func, drop_first=drop)
        ]
    return problems
