"""Type stubs (``.pyi``) for models modules: typed keyword arguments per field and lookup.

A stub shadows its module for type checkers, so it repeats the module (its source with
function bodies cut to ``...``) and adds, for each table model ``M``:

* ``objects: ClassVar[MManager]`` on the model, and the ``<fk>_id`` key fields the
  model gets at run time;
* ``MQuery(Query[M])`` and ``MManager(QueryManager[M])`` whose ``filter``, ``exclude``,
  ``get``, ``get_or_none``, ``get_or_create``, ``update_or_create``, ``create`` and
  ``update`` take one keyword argument per field and lookup (``email__icontains``,
  ``author__name``, ...), whose ``order_by``, ``values`` and ``values_list`` take the
  field names as literals, and whose terminals return ``list[M]``, ``M | None``, ...

A misspelt field is then an error in the type checker, not at run time. The typed
methods narrow the signatures of ``Query`` on purpose, so the stub switches off the
override check for itself (mypy and pyright comments at its top).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from oxyde.meta.metadata import Column, ModelMeta
from oxyde.meta.registry import assert_no_pending_models, is_table_model, registered_tables

__all__ = ["StubWriter", "render_module_stub", "write_stubs"]

_HEADER = """\
# Written by `oxyde generate-stubs` from {module}; do not edit (run it again instead).
# The typed query classes narrow the signatures of Query on purpose:
# mypy: disable-error-code="override"
# pyright: reportIncompatibleMethodOverride=false, reportIncompatibleVariableOverride=false
"""

_IMPORTS = """\
import collections.abc as _abc
import datetime as _dt
import decimal as _decimal
import typing as _t
import uuid as _uuid

from oxyde.codegen.typed import FlatValuesListQuery as _FlatValuesListQuery
from oxyde.codegen.typed import ValuesListQuery as _ValuesListQuery
from oxyde.codegen.typed import ValuesQuery as _ValuesQuery
from oxyde.queries import F as _F
from oxyde.queries import Q as _Q
from oxyde.queries import Query as _Query
from oxyde.queries import QueryManager as _QueryManager
"""

_KIND_TYPES = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "bytes": "bytes",
    "datetime": "_dt.datetime",
    "date": "_dt.date",
    "time": "_dt.time",
    "timedelta": "_dt.timedelta",
    "uuid": "_uuid.UUID",
    "decimal": "_decimal.Decimal | int",
    "json": "_t.Any",
    "array": "list[_t.Any]",
    "any": "_t.Any",
}

_STRING_LOOKUPS = frozenset(
    {
        "iexact",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "regex",
        "iregex",
    }
)
_COMPARISONS = frozenset({"exact", "ne", "gt", "gte", "lt", "lte"})

_CONN = "using: str | None = ..., client: _t.Any = ..."


@dataclass
class _Param:
    name: str
    annotation: str


@dataclass
class _ModelInfo:
    name: str
    meta: ModelMeta
    query: str
    manager: str
    lookups: list[_Param] = field(default_factory=list)
    values: list[_Param] = field(default_factory=list)
    order_names: list[str] = field(default_factory=list)
    field_names: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)


class StubWriter:
    """Renders the stub of one module."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.namespace = vars(module)
        self.extra_imports: dict[str, str] = {}

    # -- names for objects ---------------------------------------------------------------

    def ref(self, obj: Any) -> str:
        """An expression naming class ``obj`` inside the stub."""
        for name, value in self.namespace.items():
            if value is obj and not name.startswith("__"):
                return name
        module_name = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if not module_name or not qualname or "<locals>" in qualname:
            return "_t.Any"
        alias = self.extra_imports.setdefault(module_name, f"_m{len(self.extra_imports)}")
        return f"{alias}.{qualname}"

    def value_type(self, col: Column) -> str:
        if col.kind == "enum" and col.enum_cls is not None:
            return self.ref(col.enum_cls)
        return _KIND_TYPES.get(col.kind, "_t.Any")

    # -- parameters per model ------------------------------------------------------------

    def _lookup_params(
        self, prefix: str, col: Column, *, nullable: bool, instance: str | None
    ) -> list[_Param]:
        base = self.value_type(col)
        if instance is not None:
            base = f"{instance} | {base}"
        exact = f"{base} | None" if nullable else base
        params = [_Param(prefix, f"{exact} | _F")]
        for lookup in col.lookups:
            name = f"{prefix}__{lookup}"
            if lookup in ("exact", "ne"):
                annotation = f"{base} | None | _F" if lookup == "ne" else f"{exact} | _F"
            elif lookup in _COMPARISONS:
                annotation = f"{base} | _F"
            elif lookup == "in":
                annotation = f"_abc.Iterable[{base}] | _Query[_t.Any]"
            elif lookup == "isnull":
                annotation = "bool"
            elif lookup in ("range", "between"):
                annotation = f"tuple[{base}, {base}]"
            elif lookup in _STRING_LOOKUPS:
                annotation = "str"
            elif lookup in ("year", "hour"):
                annotation = "int"
            elif lookup == "month":
                annotation = "int | tuple[int, int]"
            elif lookup == "day":
                annotation = "int | tuple[int, int, int]"
            elif lookup == "date":
                annotation = "_dt.date"
            elif lookup == "has_key":
                annotation = "str"
            else:
                annotation = "_t.Any"
            params.append(_Param(name, annotation))
        return params

    def model_info(self, model: type[Any], taken: set[str]) -> _ModelInfo:
        meta: ModelMeta = model._db_meta
        name = model.__name__
        query = _free(f"{name}Query", taken)
        manager = _free(f"{name}Manager", taken)
        info = _ModelInfo(name=name, meta=meta, query=query, manager=manager)
        fk_fields = {fk.field_name: fk for fk in meta.foreign_keys.values()}
        for col in meta.columns.values():
            info.lookups += self._lookup_params(col.name, col, nullable=col.nullable, instance=None)
            info.values.append(_Param(col.name, self._write_type(col)))
            info.field_names.append(col.name)
            if col.kind in ("int", "float", "decimal", "timedelta") and col.name not in fk_fields:
                info.numeric.append(col.name)
        if meta.pk is not None and "pk" not in meta.columns:
            info.lookups += self._lookup_params("pk", meta.pk, nullable=False, instance=None)
            info.field_names.append("pk")
        for fk in meta.foreign_keys.values():
            key = meta.columns[fk.field_name]
            target_meta: ModelMeta = fk.target._db_meta
            target = self.ref(fk.target)
            info.lookups += self._lookup_params(
                fk.name, key, nullable=key.nullable, instance=target
            )
            instance_type = f"{target} | None" if key.nullable else target
            info.values.append(_Param(fk.name, instance_type))
            info.field_names.append(fk.name)
            for tcol in target_meta.columns.values():
                path = f"{fk.name}__{tcol.name}"
                if any(p.name == path for p in info.lookups):
                    continue
                # a related row may be missing (LEFT JOIN): every value may be None
                info.lookups += self._lookup_params(path, tcol, nullable=True, instance=None)
                info.field_names.append(path)
        info.order_names = [
            *info.field_names,
            *(f"-{n}" for n in info.field_names),
            "?",
        ]
        return info

    def _write_type(self, col: Column) -> str:
        base = self.value_type(col)
        return f"{base} | None | _F" if col.nullable or col.primary_key else f"{base} | _F"

    # -- rendering -------------------------------------------------------------------------

    def render_classes(self, info: _ModelInfo) -> str:
        m = info.name
        lookups = "".join(f", {p.name}: {p.annotation} = ..." for p in info.lookups)
        values = "".join(f", {p.name}: {p.annotation} = ..." for p in info.values)
        order = _literal(info.order_names)
        fields = _literal(info.field_names)
        numeric = _literal(info.numeric) if info.numeric else "str"
        q = info.query
        locks = "*, nowait: bool = ..., skip_locked: bool = ..., of: _abc.Sequence[str] = ..."
        mode = "mode: _t.Literal"
        methods = [
            f"def filter(self, *args: _Q{lookups}) -> {q}: ...",
            f"def exclude(self, *args: _Q{lookups}) -> {q}: ...",
            f"def order_by(self, *fields: {order}) -> {q}: ...",
            f"def limit(self, value: int) -> {q}: ...",
            f"def offset(self, value: int) -> {q}: ...",
            f"def distinct(self, distinct: bool = ...) -> {q}: ...",
            f"def select(self, *fields: {fields}) -> {q}: ...",
            f"def join(self, *paths: str) -> {q}: ...",
            f"def prefetch(self, *paths: str) -> {q}: ...",
            f"def annotate(self, **expressions: _t.Any) -> {q}: ...",
            f"def none(self) -> {q}: ...",
            f"def using_primary(self) -> {q}: ...",
            f"def for_update(self, {locks}) -> {q}: ...",
            f"def for_share(self, {locks}) -> {q}: ...",
            f"def select_for_update(self, {locks}) -> {q}: ...",
            f"def values(self, *fields: {fields}) -> _ValuesQuery: ...",
            "@_t.overload",
            f"def values_list(self, *fields: {fields}, flat: _t.Literal[False] = ...)"
            " -> _ValuesListQuery: ...",
            "@_t.overload",
            f"def values_list(self, field: {fields}, /, *, flat: _t.Literal[True])"
            " -> _FlatValuesListQuery: ...",
            "@_t.overload",
            f'async def all(self, *, {mode}["models"] | None = ..., {_CONN}) -> list[{m}]: ...',
            "@_t.overload",
            f'async def all(self, *, {mode}["dict"], {_CONN}) -> list[dict[str, _t.Any]]: ...',
            "@_t.overload",
            f'async def all(self, *, {mode}["list"], {_CONN}) -> list[tuple[_t.Any, ...]]: ...',
            "@_t.overload",
            f'async def all(self, *, {mode}["msgpack"], {_CONN}) -> bytes: ...',
            f"async def get(self, *, {_CONN}{lookups}) -> {m}: ...",
            f"async def get_or_none(self, *, {_CONN}{lookups}) -> {m} | None: ...",
            f"async def first(self, *, {_CONN}) -> {m} | None: ...",
            f"async def last(self, *, {_CONN}) -> {m} | None: ...",
            f"async def count(self, *, {_CONN}) -> int: ...",
            f"async def exists(self, *, {_CONN}) -> bool: ...",
            "@_t.overload",
            f"async def create(self, *, instance: {m}, {_CONN}) -> {m}: ...",
            "@_t.overload",
            f"async def create(self, *, {_CONN}{values}) -> {m}: ...",
            f"async def bulk_create(self, objects: _abc.Iterable[{m} | dict[str, _t.Any]], *,"
            f" batch_size: int | None = ..., {_CONN}) -> list[{m}]: ...",
            f"async def bulk_update(self, objects: _abc.Iterable[{m}],"
            f" fields: _abc.Sequence[{fields}], *, {_CONN}) -> int: ...",
            f"async def get_or_create(self, *, defaults: dict[str, _t.Any] | None = ...,"
            f" {_CONN}{lookups}) -> tuple[{m}, bool]: ...",
            f"async def update_or_create(self, *, defaults: dict[str, _t.Any] | None = ...,"
            f" {_CONN}{lookups}) -> tuple[{m}, bool]: ...",
            "@_t.overload",
            f"async def update(self, *, returning: _t.Literal[False] = ..., {_CONN}{values})"
            " -> int: ...",
            "@_t.overload",
            f"async def update(self, *, returning: _t.Literal[True], {_CONN}{values})"
            f" -> list[{m}]: ...",
            f"async def increment(self, field: {numeric},"
            f" by: int | float | _decimal.Decimal = ..., *, {_CONN}) -> int: ...",
            f"async def delete(self, *, {_CONN}) -> int: ...",
            f"def iterator(self, *, chunk_size: int = ..., {_CONN})"
            f" -> _abc.AsyncIterator[{m}]: ...",
        ]
        builders = "".join(f"    {line}\n" for line in methods)
        return (
            f"class {q}(_Query[{m}]):\n"
            f"{builders}"
            f"    def __getitem__(self, key: slice | int) -> {q}: ...\n"
            f"    def union(self, other_query: _Query[{m}]) -> {q}: ...\n"
            f"    def union_all(self, other_query: _Query[{m}]) -> {q}: ...\n"
            "\n\n"
            f"class {info.manager}(_QueryManager[{m}]):\n"
            f"    def query(self) -> {q}: ...\n"
            f"{builders}"
        )

    def render(self) -> str:
        source = inspect.getsource(self.module)
        tree = ast.parse(source)
        models = _table_models(self.module)
        taken = set(self.namespace)
        infos = {name: self.model_info(model, taken) for name, model in models.items()}
        body: list[ast.stmt] = []
        future: list[ast.stmt] = []
        docstring: list[ast.stmt] = []
        for i, node in enumerate(tree.body):
            if i == 0 and _is_docstring(node):
                docstring.append(node)
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                future.append(node)
                continue
            kept = _stub_statement(node)
            if kept is None:
                continue
            if isinstance(kept, ast.ClassDef) and kept.name in infos:
                self._extend_model(kept, infos[kept.name])
            body.append(kept)
        classes = "\n\n".join(self.render_classes(info) for info in infos.values())
        extra = "".join(
            f"import {module} as {alias}\n" for module, alias in self.extra_imports.items()
        )
        parts = [
            _HEADER.format(module=self.module.__name__),
            ast.unparse(ast.Module(body=docstring + future, type_ignores=[])),
            _IMPORTS + extra,
            ast.unparse(ast.Module(body=body, type_ignores=[])),
            classes,
        ]
        return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"

    def _extend_model(self, node: ast.ClassDef, info: _ModelInfo) -> None:
        declared = {
            stmt.target.id
            for stmt in node.body
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
        }
        extra: list[ast.stmt] = []
        for fk in info.meta.foreign_keys.values():
            if fk.field_name in declared:
                continue
            key = info.meta.columns[fk.field_name]
            extra.append(
                ast.parse(f"{fk.field_name}: {self.value_type(key)} | None = None").body[0]
            )
        extra.append(ast.parse(f"objects: _t.ClassVar[{info.manager}]").body[0])
        body = [s for s in node.body if not _is_ellipsis(s)]
        node.body = body + extra


# -- helpers --------------------------------------------------------------------------------


def _free(name: str, taken: set[str]) -> str:
    while name in taken:
        name = f"_{name}"
    taken.add(name)
    return name


def _literal(names: Iterable[str]) -> str:
    return "_t.Literal[" + ", ".join(repr(n) for n in names) + "]"


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_ellipsis(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and node.value.value is Ellipsis
    )


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


class _CutBodies(ast.NodeTransformer):
    """Function bodies become ``...``; statements a stub has no use for go away."""

    def _cut(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
        node.body = [ast.Expr(ast.Constant(Ellipsis))]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.stmt:
        return self._cut(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.stmt:
        return self._cut(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.stmt:
        self.generic_visit(node)
        node.body = [s for s in node.body if not _is_docstring(s)] or [
            ast.Expr(ast.Constant(Ellipsis))
        ]
        return node


def _stub_statement(node: ast.stmt) -> ast.stmt | None:
    if _is_main_guard(node):
        return None
    if isinstance(node, ast.Expr):
        return None  # calls and docstrings at module level
    if isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith):
        return None
    result = _CutBodies().visit(node)
    return result if isinstance(result, ast.stmt) else None


def _table_models(module: ModuleType) -> dict[str, type[Any]]:
    return {
        name: value
        for name, value in vars(module).items()
        if is_table_model(value) and value.__module__ == module.__name__ and value.__name__ == name
    }


def render_module_stub(module: ModuleType) -> str:
    """The ``.pyi`` text for ``module`` (its table models must be finalized)."""
    return StubWriter(module).render()


def _defining_modules(modules: list[ModuleType]) -> list[ModuleType]:
    """``modules`` and their submodules that define table models, each once."""
    names = [m.__name__ for m in modules]
    found = {m.__name__: m for m in modules}
    for model in registered_tables().values():
        owner = model.__module__
        if owner in found or not any(owner.startswith(f"{n}.") for n in names):
            continue
        module = sys.modules.get(owner)
        if module is not None:
            found[owner] = module
    return sorted(found.values(), key=lambda m: m.__name__)


def write_stubs(modules: Iterable[str | ModuleType]) -> list[Path]:
    """Write ``<module>.pyi`` next to each of ``modules`` (and their submodules) that
    defines table models; returns the files written."""
    imported = [importlib.import_module(m) if isinstance(m, str) else m for m in modules]
    assert_no_pending_models()
    written: list[Path] = []
    for module in _defining_modules(imported):
        if not _table_models(module):
            continue
        file = getattr(module, "__file__", None)
        if file is None:
            raise ValueError(f"module {module.__name__} has no source file to put a stub next to")
        path = Path(file).with_suffix(".pyi")
        path.write_text(render_module_stub(module), encoding="utf-8")
        written.append(path)
    return written
