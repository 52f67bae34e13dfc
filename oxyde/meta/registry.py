"""The table registry: which table models exist, and resolving their relations.

Every ``is_table = True`` model registers itself when its class is created, keyed by
``module.QualName``. A model whose relations point at models that are not defined yet
stays *pending*; each new table model retries the pending ones, and ``get_meta`` /
``finalize_pending`` / ``assert_no_pending_models`` finish or report them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Optional

from pydantic._internal._model_construction import unpack_lenient_weakvaluedict
from pydantic.errors import PydanticUndefinedAnnotation

from oxyde.meta.meta_builder import (
    ForwardSpec,
    ModelState,
    VirtualSpec,
    build_model_meta,
    key_type_info,
    target_field_of,
)
from oxyde.meta.metadata import ModelMeta, ReverseRelation

if TYPE_CHECKING:
    from oxyde.models.base import Model

__all__ = [
    "assert_no_pending_models",
    "clear_registry",
    "finalize_pending",
    "get_meta",
    "is_table_model",
    "iter_tables",
    "pending_models",
    "register_table",
    "registered_tables",
    "unregister_table",
]

_tables: dict[str, type[Model]] = {}
_pending: dict[str, type[Model]] = {}
_finalizing = False


def _state(model: type) -> ModelState | None:
    state = model.__dict__.get("__oxyde_state__")
    return state if isinstance(state, ModelState) else None


def is_table_model(obj: Any) -> bool:
    """Whether ``obj`` is a model class with ``Meta.is_table = True``."""
    if not isinstance(obj, type):
        return False
    state = _state(obj)
    return state is not None and state.options.is_table


def _key(model: type) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def register_table(model: type[Model], *, overwrite: bool = False) -> None:
    """Add a table model to the registry (class creation does it for you, with
    ``overwrite=True``, so redefining a model in a test or a reloaded module just works).

    The registry is keyed by ``module.QualName``: registering the same class again does
    nothing, and another class under a registered key raises ``ValueError`` unless
    ``overwrite=True``. Two models may share a ``Meta.table_name`` (for example one
    variant of a table per database), as in the public Oxyde.
    """
    state = _state(model)
    if state is None or not state.options.is_table:
        raise TypeError(f"{model!r} is not a table model (its Meta needs is_table = True)")
    key = _key(model)
    existing = _tables.get(key)
    if existing is model:
        return
    if existing is not None and not overwrite:
        raise ValueError(f"Table '{key}' is already registered; pass overwrite=True to replace it")
    _pending.pop(key, None)
    _tables[key] = model
    if "_db_meta" not in model.__dict__:
        _pending[key] = model


def iter_tables() -> tuple[type[Model], ...]:
    """The registered table model classes, in definition order."""
    return tuple(registered_tables().values())


def unregister_table(model: type[Model]) -> None:
    """Remove a table model from the registry (no error when it is not registered)."""
    key = _key(model)
    if _tables.get(key) is model:
        del _tables[key]
        _pending.pop(key, None)


def registered_tables() -> dict[str, type[Model]]:
    """The registered table models by ``module.QualName``, in definition order.

    Pending models are finalized first where possible (see ``assert_no_pending_models``).
    """
    finalize_pending()
    return dict(_tables)


def clear_registry() -> None:
    """Forget every registered table model (already-built metadata stays on the classes)."""
    _tables.clear()
    _pending.clear()


def pending_models() -> dict[str, list[str]]:
    """Models that are not finalized yet, with what each one waits for."""
    result: dict[str, list[str]] = {}
    for key, model in _pending.items():
        state = _state(model)
        result[key] = list(state.waiting_for) if state is not None else []
    return result


def finalize_pending() -> None:
    """Finalize every pending model whose relations can be resolved now.

    Raises the definition error (``TypeError``/``ValueError``) of a model that turns out
    to be invalid once its relations are known; that model is unregistered first.
    """
    if not _pending or _finalizing:
        return
    progress = True
    while progress and _pending:
        progress = False
        for key, model in list(_pending.items()):
            if _pending.get(key) is not model:
                continue
            if _finalize_checked(model):
                _pending.pop(key, None)
                progress = True


def assert_no_pending_models() -> None:
    """Raise ``TypeError`` naming every model whose relations cannot be resolved."""
    finalize_pending()
    if not _pending:
        return
    lines = []
    for key, reasons in pending_models().items():
        lines.append(f"  {key}: " + ("; ".join(reasons) or "not finalized"))
    raise TypeError("some models reference models that are not defined:\n" + "\n".join(lines))


def get_meta(model: type[Model]) -> ModelMeta:
    """The ``ModelMeta`` of a table model, finalizing pending models if needed."""
    meta = model.__dict__.get("_db_meta")
    if meta is not None:
        return meta  # type: ignore[no-any-return]
    state = _state(model) if isinstance(model, type) else None
    if state is None or not state.options.is_table:
        name = getattr(model, "__name__", repr(model))
        raise TypeError(
            f"{name} is not a table model; add `class Meta: is_table = True` to query it"
        )
    if _key(model) in _pending:
        finalize_pending()
    elif not _finalizing:
        _finalize_checked(model)
    meta = model.__dict__.get("_db_meta")
    if meta is None:
        reasons = "; ".join(state.waiting_for) or "it is not finalized"
        raise TypeError(f"{model.__name__} cannot be used yet: {reasons}")
    return meta  # type: ignore[no-any-return]


def is_pending(model: type) -> bool:
    return _pending.get(_key(model)) is model


@contextmanager
def _finalizing_guard() -> Iterator[None]:
    # model_rebuild() calls back into the registry (see Model.model_rebuild); while we
    # are the ones rebuilding, that hook must not start another finalize pass.
    global _finalizing
    previous = _finalizing
    _finalizing = True
    try:
        yield
    finally:
        _finalizing = previous


def finalizing() -> bool:
    return _finalizing


# -- resolving names and relations ---------------------------------------------------------


def unpack_namespace(raw: Any) -> dict[str, Any]:
    """The live values of a namespace recorded by Pydantic (values may be weak refs)."""
    if not isinstance(raw, dict):
        return {}
    return unpack_lenient_weakvaluedict(raw) or {}


def _parent_namespace(model: type) -> dict[str, Any]:
    return unpack_namespace(model.__dict__.get("__pydantic_parent_namespace__"))


def resolve_model_name(name: str, owner: type) -> type[Model] | None:
    """The table model that the name ``name`` in ``owner``'s class body refers to.

    Looks at the names visible where ``owner`` was defined, then at registered tables of
    that name, nearest first (same enclosing scope, same module, then anywhere if unique).
    Raises ``TypeError`` when the name is bound to something that is not a table model.
    """
    found = _parent_namespace(owner).get(name)
    if is_table_model(found):
        return found
    same_name = [m for m in _tables.values() if m.__name__ == name]
    scope = owner.__qualname__.rpartition(".")[0]
    for model in reversed(same_name):
        if model.__module__ == owner.__module__ and model.__qualname__.rpartition(".")[0] == scope:
            return model
    module = sys.modules.get(owner.__module__)
    candidate = getattr(module, name, None) if module is not None else None
    if is_table_model(candidate):
        return candidate
    same_module = [m for m in same_name if m.__module__ == owner.__module__]
    if len(same_module) == 1:
        return same_module[0]
    if len(same_name) == 1:
        return same_name[0]
    bound = found if found is not None else candidate
    if bound is not None and not is_table_model(bound):
        raise TypeError(
            f"{owner.__name__}: {name!r} is {bound!r}, not a table model; a field annotated "
            "with a name defined later must refer to a table model (or give db_type=...)"
        )
    return None


def _types_namespace(model: type) -> dict[str, Any]:
    """Names Pydantic can use to resolve ``model``'s string annotations on rebuild."""
    names: dict[str, Any] = {}
    for other in _tables.values():
        names.setdefault(other.__name__, other)
    for other in _tables.values():
        if other.__module__ == model.__module__:
            names[other.__name__] = other
    return names


def _resolve_target(target: Any, owner: type, where: str, waiting: list[str]) -> Any:
    if not isinstance(target, str):
        return target
    found = resolve_model_name(target, owner)
    if found is None:
        waiting.append(f"{where} refers to {target!r}, which is not defined yet")
    return found


def _check_table(target: type, where: str) -> None:
    if not is_table_model(target):
        raise TypeError(
            f"{where}: {target.__name__} is not a table model (its Meta needs is_table = True)"
        )


def _resolve_forward(model: type[Model], state: ModelState, waiting: list[str]) -> None:
    for spec in state.forward.values():
        where = f"{model.__name__}.{spec.name}"
        target = _resolve_target(spec.target, model, where, waiting)
        if target is None:
            continue
        _check_table(target, where)
        spec.target = target
        if spec.typed:
            continue
        info = key_type_info(target, target_field_of(spec, where), where)
        if info is None:
            waiting.append(f"{where} waits for the key type of {target.__name__}")
            continue
        # The scalar field is annotated with a name that nothing defines yet. Pydantic
        # resolves a model's annotations in the class's own attributes too (also when it
        # builds another model embedding this one), so binding the name there makes every
        # later rebuild see the key type.
        type.__setattr__(model, synthetic_type_name(spec.field_name), Optional[info.python_type])  # noqa: UP045
        spec.typed = True
        state.needs_rebuild = True


def _find_fk(target: type, fk_name: str | None) -> ForwardSpec | None:
    state = _state(target)
    if state is None or fk_name is None:
        return None
    for spec in state.forward.values():
        if fk_name in (spec.name, spec.field_name):
            return spec
    return None


def _resolve_virtual(
    model: type[Model], state: ModelState, waiting: list[str]
) -> dict[str, ReverseRelation]:
    reverse: dict[str, ReverseRelation] = {}
    for vspec in state.virtual.values():
        where = f"{model.__name__}.{vspec.name}"
        target = _resolve_target(vspec.target, model, where, waiting)
        if target is None:
            continue
        _check_table(target, where)
        vspec.target = target
        if vspec.options.m2m:
            relation = _resolve_m2m(model, vspec, target, where, waiting)
        else:
            relation = _resolve_reverse_fk(model, vspec, target, where, waiting)
        if relation is not None:
            reverse[vspec.name] = relation
    return reverse


def _resolve_reverse_fk(
    model: type[Model], vspec: VirtualSpec, target: type, where: str, waiting: list[str]
) -> ReverseRelation | None:
    fk_name = vspec.options.reverse_fk
    fk = _find_fk(target, fk_name)
    if fk is None:
        target_state = _state(target)
        known = ", ".join(target_state.forward) if target_state else ""
        raise TypeError(
            f"{where}: {target.__name__} has no foreign key {fk_name!r} "
            f"(its foreign keys: {known or 'none'})"
        )
    if isinstance(fk.target, str):
        waiting.append(f"{where} waits for {target.__name__}.{fk.name} to be resolved")
        return None
    if fk.target is not model:
        raise TypeError(
            f"{where}: {target.__name__}.{fk.name} points to {fk.target.__name__}, "
            f"not {model.__name__}"
        )
    return ReverseRelation(name=vspec.name, target=target, fk_name=fk.name)


def _resolve_m2m(
    model: type[Model], vspec: VirtualSpec, target: type, where: str, waiting: list[str]
) -> ReverseRelation | None:
    through = vspec.options.through
    if isinstance(through, str):
        found = resolve_model_name(through, model)
        if found is None:
            waiting.append(f"{where} refers to through model {through!r}, not defined yet")
            return None
        through = found
    _check_table(through, where)
    through_state = _state(through)
    assert through_state is not None
    specs = list(through_state.forward.values())
    if any(isinstance(s.target, str) for s in specs):
        waiting.append(f"{where} waits for the foreign keys of {through.__name__}")
        return None
    to_source = [s for s in specs if s.target is model]
    to_target = [s for s in specs if s.target is target]
    if model is target:
        pair = (to_source[0], to_source[1]) if len(to_source) >= 2 else None
    elif len(to_source) == 1 and len(to_target) == 1:
        pair = (to_source[0], to_target[0])
    else:
        pair = None
    if pair is None:
        raise TypeError(
            f"{where}: through model {through.__name__} needs exactly one foreign key to "
            f"{model.__name__} and one to {target.__name__}"
        )
    return ReverseRelation(
        name=vspec.name,
        target=target,
        through=through,
        through_source=pair[0].name,
        through_target=pair[1].name,
        many_to_many=True,
    )


def synthetic_type_name(field_name: str) -> str:
    """The name a not-yet-typed FK scalar field is annotated with until its target is known."""
    return f"__oxyde_key_{field_name}__"


def on_table_created(model: type[Model]) -> None:
    """Register a new table model, finalize it if it can be, and retry the pending ones."""
    register_table(model, overwrite=True)
    if _finalize_checked(model):
        _pending.pop(_key(model), None)
    finalize_pending()


def _finalize_checked(model: type[Model]) -> bool:
    """``_finalize`` that unregisters a model found invalid before re-raising."""
    try:
        return _finalize(model)
    except Exception:
        unregister_table(model)
        raise


def _finalize(model: type[Model]) -> bool:
    """Resolve ``model``'s relations and build its ``_db_meta``; False if it must wait."""
    state = _state(model)
    assert state is not None
    waiting: list[str] = []
    _resolve_forward(model, state, waiting)
    reverse = _resolve_virtual(model, state, waiting)
    state.waiting_for = waiting
    if waiting:
        return False
    if state.needs_rebuild or not model.__pydantic_complete__:
        try:
            with _finalizing_guard():
                model.model_rebuild(
                    force=True, raise_errors=True, _types_namespace=_types_namespace(model)
                )
        except PydanticUndefinedAnnotation as exc:
            state.waiting_for = [f"{model.__name__}: the name {exc.name!r} is not defined yet"]
            return False
        state.needs_rebuild = False
    meta = build_model_meta(model, state, reverse)
    type.__setattr__(model, "_db_meta", meta)
    return True
