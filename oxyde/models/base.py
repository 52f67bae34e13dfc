"""``Model``: the Pydantic base class of every oxyde model, and its metaclass.

The metaclass reads ``class Meta``, finds relation fields in the class body before
Pydantic builds the class (so the synthetic ``<name>_id`` key field is an ordinary
Pydantic field), attaches ``objects`` and hands table models to the registry.
"""

from __future__ import annotations

import copy
import sys
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Self, cast

import pydantic
from pydantic import ConfigDict
from pydantic._internal._model_construction import ModelMetaclass as PydanticModelMetaclass
from pydantic._internal._model_construction import build_lenient_weakvaluedict
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from oxyde import _impl
from oxyde.exceptions import RelationNotLoadedError
from oxyde.meta import registry
from oxyde.meta.field import DbFieldOptions, check_db_options, db_options_of
from oxyde.meta.meta_builder import (
    ForwardSpec,
    ModelState,
    VirtualSpec,
    key_type_info,
    parse_meta,
    target_field_of,
)
from oxyde.meta.types import describe, evaluate_annotation, forward_name, split_optional
from oxyde.models import relstate
from oxyde.queries.instance import delete_instance, refresh_instance, save_instance
from oxyde.queries.manager import QueryManager

if TYPE_CHECKING:
    from oxyde.backends.base import Executor
    from oxyde.meta.metadata import ModelMeta

__all__ = ["Model", "OxydeModelMetaclass"]

_NO_OPTIONS = DbFieldOptions()


def _module_names(module_name: str) -> dict[str, Any]:
    """The globals of the module whose ``class`` statement is running.

    Usually ``sys.modules`` has it. A module executed without being registered there
    (``importlib.util.module_from_spec`` + ``exec_module``, ``exec`` of a file) is only
    reachable as the globals of the frame running the class statement; without them an
    annotation such as ``datetime | None`` would look like a reference to a model.
    """
    module = sys.modules.get(module_name)
    if module is not None:
        return dict(vars(module))
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == module_name:
            return dict(frame.f_globals)
        frame = frame.f_back
    return {}


def _caller_locals(depth: int) -> dict[str, Any] | None:
    """Locals of the frame running the ``class`` statement, as Pydantic records them.

    Pydantic looks one frame up from its own ``__new__``; with this metaclass in between
    it would see ours, so the namespace is captured here and handed over.
    """
    frame = sys._getframe(depth)
    if frame.f_code.co_name.startswith("<generic parameters of") and frame.f_back is not None:
        # `class M[T](Model)` (PEP 695) runs the class statement in an annotation scope.
        frame = frame.f_back
    if frame.f_back is None or frame.f_code.co_name == "<module>":
        return None
    return dict(frame.f_locals)


def _is_classvar(evaluated: Any, raw: Any) -> bool:
    if isinstance(raw, str):
        head = raw.strip().split("[", 1)[0]
        if head.rpartition(".")[2] == "ClassVar":
            return True
    return evaluated is ClassVar or typing.get_origin(evaluated) is ClassVar


def _materialize(annotation: Any, names: Mapping[str, Any]) -> Any:
    """Evaluate forward references left inside an evaluated annotation."""
    if isinstance(annotation, (str, typing.ForwardRef)):
        return evaluate_annotation(annotation, names)
    return annotation


def _with_default(value: Any, *, factory: bool) -> Any:
    """The namespace value of a relation field, given a default when it has none."""
    if value is PydanticUndefined:
        return pydantic.Field(default_factory=list) if factory else None
    if not isinstance(value, FieldInfo):
        return value
    if value.default is not PydanticUndefined or value.default_factory is not None:
        return value
    patched = copy.copy(value)
    patched.metadata = list(value.metadata)
    patched._attributes_set = dict(value._attributes_set)
    if factory:
        patched.default_factory = list
        patched._attributes_set["default_factory"] = list
    else:
        patched.default = None
        patched._attributes_set["default"] = None
    return patched


def _inherited_state(bases: tuple[type, ...], options: Any) -> ModelState:
    state = ModelState(options=options)
    # The first base wins, as in the MRO.
    for base in reversed(bases):
        base_state = base.__dict__.get("__oxyde_state__") if isinstance(base, type) else None
        if isinstance(base_state, ModelState):
            inherited = base_state.inherit()
            state.forward.update(inherited.forward)
            state.virtual.update(inherited.virtual)
    return state


def _base_field_names(bases: tuple[type, ...]) -> set[str]:
    names: set[str] = set()
    for base in bases:
        fields = getattr(base, "__pydantic_fields__", None)
        if isinstance(fields, dict):
            names.update(fields)
    return names


def _relation_target(core: Any, cls_name: str, is_table: bool, options: DbFieldOptions) -> Any:
    """The target (class or name) when a field annotated ``core`` is a forward FK."""
    missing = forward_name(core)
    if missing is not None:
        if not is_table:
            return None
        if missing == cls_name or options.type is None:
            return missing
        return None
    if isinstance(core, type) and registry.is_table_model(core):
        return core
    return None


def _list_item_target(core: Any, names: Mapping[str, Any]) -> Any:
    if typing.get_origin(core) is not list:
        return None
    args = typing.get_args(core)
    if len(args) != 1:
        return None
    item = split_optional(_materialize(args[0], names))[0]
    missing = forward_name(item)
    if missing is not None:
        return missing
    return item if isinstance(item, type) and registry.is_table_model(item) else None


def _prepare_namespace(
    cls_name: str,
    namespace: dict[str, Any],
    state: ModelState,
    names: Mapping[str, Any],
    base_fields: set[str],
) -> None:
    """Find relation fields in the class body and add their synthetic key fields."""
    annotations: dict[str, Any] = dict(namespace.get("__annotations__") or {})
    is_table = state.options.is_table
    # Key fields that bases added for their own relations are not user declarations.
    inherited_keys = {spec.field_name for spec in state.forward.values() if not spec.declared}
    user_fields = (base_fields - inherited_keys) | set(annotations)
    prepared: dict[str, Any] = {}
    for name, raw in annotations.items():
        prepared[name] = raw
        # A redefined field replaces an inherited relation of that name.
        state.forward.pop(name, None)
        state.virtual.pop(name, None)
        if name.startswith("_"):
            continue
        evaluated = _materialize(raw, names)
        if _is_classvar(evaluated, raw):
            continue
        if evaluated is not None:
            core, nullable, annotated = split_optional(evaluated)
            core = split_optional(_materialize(core, names))[0]
        else:
            core, nullable, annotated = None, False, []
        value = namespace.get(name, PydanticUndefined)
        assigned = value.metadata if isinstance(value, FieldInfo) else []
        where = f"{cls_name}.{name}"
        raw_options = db_options_of([*annotated, *assigned])
        options = check_db_options(raw_options, where) if raw_options else _NO_OPTIONS

        if options.is_virtual:
            target = _list_item_target(core, names)
            if target is None:
                kind = "db_m2m" if options.m2m else "db_reverse_fk"
                raise TypeError(
                    f"{where}: a {kind} field must be annotated list[Model] with a table "
                    f"model, got {raw!r}"
                )
            state.virtual[name] = VirtualSpec(name=name, target=target, options=options)
            namespace[name] = _with_default(value, factory=True)
            continue

        target = _relation_target(core, cls_name, is_table, options)
        if target is None:
            _reject_relation_options(options, where, core)
            if is_table and evaluated is not None and not _mentions_forward(evaluated):
                # Fail at the class statement, even if the model then waits for a target.
                describe(evaluated, [*annotated, *assigned], where=where, db_type=options.type)
            continue
        key_field = f"{name}_{options.fk}" if options.fk else f"{name}_id"
        declared = key_field in user_fields
        spec = ForwardSpec(
            name=name,
            field_name=key_field,
            target=target,
            options=options,
            nullable=nullable,
            declared=declared,
            typed=declared,
        )
        state.forward[name] = spec
        namespace[name] = _with_default(value, factory=False)
        if declared:
            continue
        key_annotation: Any = registry.synthetic_type_name(key_field)
        if isinstance(target, type):
            info = key_type_info(target, target_field_of(spec, where), where)
            if info is not None:
                key_annotation = Optional[info.python_type]  # noqa: UP045
                spec.typed = True
        prepared[key_field] = key_annotation
        namespace[key_field] = pydantic.Field(default=None)
    namespace["__annotations__"] = prepared


def _mentions_forward(annotation: Any) -> bool:
    """Whether an evaluated annotation still contains a name that is not defined yet."""
    if forward_name(annotation) is not None or isinstance(annotation, (str, typing.ForwardRef)):
        return True
    return any(_mentions_forward(arg) for arg in typing.get_args(annotation))


def _reject_relation_options(options: DbFieldOptions, where: str, core: Any) -> None:
    """Relation-only options on a field that is not a relation are mistakes, not no-ops."""
    used = [
        f"db_{name}={getattr(options, name)!r}"
        for name, default in (("fk", None), ("on_delete", "RESTRICT"), ("on_update", "CASCADE"))
        if getattr(options, name) != default
    ]
    if not used:
        return
    missing = forward_name(core)
    hint = (
        f"{missing!r} is not defined yet (only table models can refer to models defined after them)"
        if missing is not None
        else "the annotation is not a table model"
    )
    raise TypeError(f"{where}: {', '.join(used)} only apply to a relation field, but {hint}")


def _attach_manager(cls: type) -> None:
    type.__setattr__(cls, "objects", QueryManager(cls))


# Pydantic's dataclass_transform (inherited) deliberately does not list oxyde's Field: a
# type checker then takes `x: T = Field(...)` as having a default. Listing it would make
# every `Field(db_reverse_fk=...)` field (whose default is implicit) look required.
class OxydeModelMetaclass(PydanticModelMetaclass):
    """Pydantic's model metaclass plus Meta parsing, relations and registration."""

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type[Any], ...],
        namespace: dict[str, Any],
        **kwargs: Any,
    ) -> type:
        if not any(isinstance(base, OxydeModelMetaclass) for base in bases):
            return super().__new__(mcs, cls_name, bases, namespace, **kwargs)

        if kwargs.pop("__pydantic_reset_parent_namespace__", True):
            parent = build_lenient_weakvaluedict(_caller_locals(2))
        else:
            inherited = getattr(bases[0], "__pydantic_parent_namespace__", None)
            parent = namespace.get("__pydantic_parent_namespace__", inherited)

        # Pydantic only tolerates a nested class it can tell was defined in the body;
        # ``Meta = SharedMeta`` is fine too, so keep it away from Pydantic.
        meta = namespace.pop("Meta", None)
        options = parse_meta(meta, cls_name)
        state = _inherited_state(bases, options)
        names = _module_names(str(namespace.get("__module__")))
        names.update(registry.unpack_namespace(parent))
        # The class's own name means the class, even if an older one is still bound.
        names.pop(cls_name, None)
        own = dict(namespace.get("__annotations__") or {})
        _prepare_namespace(cls_name, namespace, state, names, _base_field_names(bases))
        if state.forward:
            relstate.install(namespace)

        namespace["__pydantic_parent_namespace__"] = parent
        cls = super().__new__(
            mcs,
            cls_name,
            bases,
            namespace,
            __pydantic_reset_parent_namespace__=False,
            **kwargs,
        )
        specs: list[ForwardSpec | VirtualSpec] = [*state.forward.values(), *state.virtual.values()]
        for spec in specs:
            if spec.name in own and spec.target == cls_name:
                spec.target = cls
        type.__setattr__(cls, "__oxyde_state__", state)
        if meta is not None:
            type.__setattr__(cls, "Meta", meta)
        _attach_manager(cls)
        if options.is_table:
            _defer_fields(cls)
            registry.on_table_created(cast("type[Model]", cls))
        return cls

    if not TYPE_CHECKING:

        def __getattr__(cls, item: str) -> Any:
            if item == "_db_meta":
                try:
                    return registry.get_meta(cls)
                except TypeError as exc:
                    # hasattr()/getattr(..., default) must keep working on non-tables.
                    if not registry.is_table_model(cls):
                        raise AttributeError(str(exc)) from None
                    raise
            return super().__getattr__(item)


# Compiled, rows load as deferred instances that build their ``__dict__`` on first use
# (oxyde/_speedups/rowload.py, "deferred instances"); these descriptors stand in front of
# the instance dict and the extra slot to do that. None where instances are always whole.
_deferred = _impl.rowload.deferred_descriptors()


def _defer_fields(cls: type) -> None:
    """Put a ``DeferredField`` on a table class for each of its fields (see ``_deferred``)."""
    if _deferred is None:
        return
    for name in cls.__pydantic_fields__:  # type: ignore[attr-defined]
        if name not in cls.__dict__:
            type.__setattr__(cls, name, _impl.rowload.DeferredField(name))


class Model(pydantic.BaseModel, metaclass=OxydeModelMetaclass):
    """Base class of oxyde models: a Pydantic model, a table when ``Meta.is_table``."""

    model_config = ConfigDict(extra="ignore")

    if _deferred is not None:
        # In the class body: a class's ``__dict__`` attribute cannot be set afterwards.
        __dict__ = _deferred[0]

    if TYPE_CHECKING:
        objects: ClassVar[QueryManager[Self]]
        _db_meta: ClassVar[ModelMeta]
    else:

        def __getattr__(self, item: str) -> Any:
            # Rows loaded from the database hold no relation field until join() or
            # prefetch() fills it; plain attribute lookup then lands here. Saying so
            # beats a None or [] that looks like "no related row".
            state = type(self).__dict__.get("__oxyde_state__")
            if state is not None and (item in state.forward or item in state.virtual):
                raise RelationNotLoadedError(
                    type(self).__name__, item, forward=item in state.forward
                )
            return super().__getattr__(item)

        if _deferred is not None:

            def __delattr__(self, item: str) -> None:
                # Pydantic deletes a field with object.__delattr__, which looks in the
                # instance dict only: a deferred instance needs its dict first.
                _impl.rowload.settle(self)
                super().__delattr__(item)

    @classmethod
    def get_table_name(cls) -> str:
        """The table name of a table model (``Meta.table_name``, default the class name)."""
        state = cls.__dict__.get("__oxyde_state__")
        if not isinstance(state, ModelState) or not state.options.is_table:
            raise TypeError(f"{cls.__name__} is not a table model")
        return state.options.table_name

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Mapping[str, Any] | None = None,
    ) -> bool | None:
        # A pending table model types its key fields when its targets are known; do that
        # first, so that a rebuild (explicit, or Pydantic's on first use) can succeed.
        if registry.is_pending(cls) and not registry.finalizing():
            registry.finalize_pending()
        depth = _parent_namespace_depth + 1 if _parent_namespace_depth > 0 else 0
        return super().model_rebuild(
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=depth,
            _types_namespace=_types_namespace,
        )

    # -- persistence (the query layer does the work) -------------------------------------

    async def save(
        self,
        *,
        update_fields: Iterable[str] | None = None,
        using: str | None = None,
        client: Executor | None = None,
    ) -> Self:
        """INSERT when the primary key is unset or the row does not exist, else UPDATE."""
        await save_instance(self, update_fields=update_fields, using=using, client=client)
        return self

    async def delete(self, *, using: str | None = None, client: Executor | None = None) -> int:
        """Delete this row; returns the number of rows deleted."""
        return await delete_instance(self, using=using, client=client)

    async def refresh(self, *, using: str | None = None, client: Executor | None = None) -> Self:
        """Reload the stored fields of this row from the database."""
        await refresh_instance(self, using=using, client=client)
        return self

    # -- lifecycle hooks ------------------------------------------------------------------

    async def pre_save(self, *, is_create: bool, update_fields: set[str] | None = None) -> None:
        """Runs before ``save()`` / ``objects.create()`` write; raising aborts the write."""

    async def post_save(self, *, is_create: bool, update_fields: set[str] | None = None) -> None:
        """Runs after ``save()`` / ``objects.create()`` wrote the row."""

    async def pre_delete(self) -> None:
        """Runs before ``delete()``; raising aborts the delete."""

    async def post_delete(self) -> None:
        """Runs after ``delete()`` removed the row."""


# The compiled row loader gives every instance of a result its plan's frozenset as fields
# set and leaves the per-instance ``set`` to the first reader (oxyde/_speedups/rowload.py,
# LazyFieldsSet). Set after the class is built: Pydantic's metaclass keeps its own slot names
# out of a model's namespace. None where instances get a real set from the start.
_lazy_fields_set = _impl.rowload.lazy_fields_set()
if _lazy_fields_set is not None:
    type.__setattr__(Model, "__pydantic_fields_set__", _lazy_fields_set)
if _deferred is not None:
    type.__setattr__(Model, "__pydantic_extra__", _deferred[1])
