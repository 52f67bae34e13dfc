"""Rows -> model instances, dicts, tuples or scalars: the per-row loop.

Cython pure-Python mode: this file is both the compiled module and its pure fallback.
It takes plain data only: a plan tuple prepared once per result shape by
``oxyde/queries/rowplan.py`` and the driver's rows (tuples). Each function is one
Python-visible call per result, so a profile names the stage even without ``--native``.

Instances are built the way ``BaseModel.model_construct`` builds them (``__dict__``,
``__pydantic_fields_set__``, ``__pydantic_extra__``, ``__pydantic_private__``), from
values the converters have already turned into the fields' Python types; the result has
the same observable state ``model_validate`` gives for those values, which the
equivalence tests check. Models that need real validation never come here. Compiled, the
fields set of a loaded instance is the plan's frozenset until first read
(``LazyFieldsSet``), pydantic's slots are written at their offsets (``_capi.pxd``), and an
instance keeps its row and builds its ``__dict__`` on first use ("deferred instances"
below); the pure-Python loader builds every instance whole, with the same observable
result.
"""

try:
    import cython
except ModuleNotFoundError:  # pure-Python install without Cython
    from oxyde._speedups import _cython_shim as cython  # type: ignore[no-redef]

import datetime as _dt
import types as _types
from operator import itemgetter as _itemgetter
from typing import Any

from pydantic import BaseModel as _BaseModel
from pydantic_core import PydanticUndefined as _UNDEFINED

if cython.compiled:
    # Compiled, instances are built through the C API: ``object.__setattr__`` called from
    # C still goes through a wrapper call per attribute, which cost more than all the rest
    # of a row (bench/micro: rows.*). The pure-Python branch does the same in Python.
    from cython.cimports.cpython.datetime import (  # type: ignore[import-untyped, import-not-found]
        datetime_new,
        import_datetime,
    )
    from cython.cimports.cpython.dict import PyDict_Copy  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.object import (  # type: ignore[import-untyped, import-not-found]
        PyObject_GenericSetAttr,
        PyObject_GenericSetDict,
    )
    from cython.cimports.cpython.ref import Py_DECREF, Py_INCREF  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.set import PySet_New  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.tuple import PyTuple_New, PyTuple_SET_ITEM  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.type import (  # type: ignore[import-untyped, import-not-found]
        PyType_GenericNew,
        PyType_IsSubtype,
    )
    from cython.cimports.cpython.unicode import (  # type: ignore[import-untyped, import-not-found]
        PyUnicode_1BYTE_DATA,
        PyUnicode_1BYTE_KIND,
        PyUnicode_GET_LENGTH,
        PyUnicode_KIND,
    )
    from cython.cimports.oxyde._speedups._capi import (  # type: ignore[import-untyped, import-not-found]
        existing_dict,
        instance_dict,
        object_slot_offset,
        read_slot,
        replace_slot,
        slot_is_empty,
        store_new_slot,
        track,
        untrack,
        untrack_if_atomic,
    )

    import_datetime()

_object_setattr = object.__setattr__
_object_new = object.__new__

#: the slots every pydantic instance carries besides ``__dict__``, in the order they are set
_PYDANTIC_SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _is_compiled() -> bool:
    return bool(cython.compiled)


def _base_slot_offsets() -> tuple[int, ...] | None:
    """Where ``BaseModel`` keeps its three slots in an instance, or None if they are not
    plain object slots in this pydantic (then instances are filled through setattr)."""
    offsets: list[int] = []
    for name in _PYDANTIC_SLOTS:
        descr = _BaseModel.__dict__.get(name)
        if not isinstance(descr, _types.MemberDescriptorType):
            return None
        offset = object_slot_offset(descr) if cython.compiled else -1
        if offset < 0:
            return None
        offsets.append(offset)
    return tuple(offsets)


@cython.cclass
class LazyFieldsSet:
    """``__pydantic_fields_set__`` for oxyde models while the compiled loader is in use.

    A loaded row's fields set is the same for every row of a result, and most instances
    never look at theirs, yet a ``set`` per row (made, tracked by the collector, freed) was
    a sixth of what loading a 10-field row cost. The loader stores the plan's frozenset in
    the slot instead; the first read through this descriptor swaps in a ``set`` copy of it,
    which is what every reader (Pydantic's setattr and dump, ``model_fields_set``, copy,
    pickle, oxyde's relation code) then gets and may change. Writes and deletes go to the
    slot as with the plain slot descriptor this one stands in front of.
    """

    slot = cython.declare(object, visibility="readonly")
    offset = cython.declare(cython.Py_ssize_t, visibility="readonly")

    def __init__(self, slot: Any, offset: int) -> None:
        self.slot = slot
        self.offset = offset

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        if cython.compiled:
            _check_owner(obj)
            _settle(obj)
            if slot_is_empty(obj, self.offset):
                raise AttributeError("__pydantic_fields_set__")
            value = read_slot(obj, self.offset)
            if type(value) is DeferredPlan:
                value = PySet_New(value.fields)
                replace_slot(obj, self.offset, value)
            elif type(value) is frozenset:
                value = PySet_New(value)
                replace_slot(obj, self.offset, value)
        else:
            value = self.slot.__get__(obj, owner)
            if type(value) is frozenset:
                value = set(value)
                self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if cython.compiled:
            _check_owner(obj)
            _settle(obj)  # the plan is read from this slot: build the dict before it goes
            replace_slot(obj, self.offset, value)
        else:
            self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        if cython.compiled:
            _check_owner(obj)
            _settle(obj)
        self.slot.__delete__(obj)


@cython.cfunc
def _check_owner(obj: Any, name: str = "__pydantic_fields_set__") -> None:
    # The slot offset is BaseModel's: anything else has other memory there. A subtype
    # check, not isinstance(): BaseModel's ABCMeta would run its __instancecheck__ on every
    # read and write of the fields set.
    if not PyType_IsSubtype(type(obj), _BaseModel):
        raise TypeError(f"{name} is a BaseModel slot, not one of {type(obj).__name__}")


@cython.cfunc
@cython.inline
def _dict_of(obj: Any) -> dict[str, Any]:
    """``obj.__dict__``; compiled, read straight from the instance (``_capi.instance_dict``)."""
    if cython.compiled:
        return instance_dict(obj)  # type: ignore[no-any-return]
    return obj.__dict__  # type: ignore[no-any-return]


def lazy_fields_set() -> LazyFieldsSet | None:
    """The descriptor ``oxyde.Model`` installs as ``__pydantic_fields_set__``, or None
    where instances are filled through setattr (the pure-Python loader, or a pydantic
    whose slots are not plain object slots)."""
    if not cython.compiled or _SLOT_OFFSETS is None:
        return None
    return LazyFieldsSet(_BaseModel.__dict__["__pydantic_fields_set__"], _SLOT_OFFSETS[0])


#: how load_models fills a class's pydantic slots (cached per class)
_SLOTS_BY_SETATTR = 0
_SLOTS_DIRECT = 1
_SLOTS_DIRECT_LAZY = 2
# as _SLOTS_DIRECT_LAZY, and ``cls`` can hold deferred instances (the descriptors above)
_SLOTS_DEFERRED = 3


@cython.cfunc
def _slot_mode(cls: Any) -> cython.int:
    """Direct slot stores need ``cls`` to be allocated by ``object.__new__`` and to resolve
    pydantic's slot names to BaseModel's own descriptors, or, for the fields set, to
    ``LazyFieldsSet`` (then the plan's frozenset is stored as it is)."""
    known = _slot_modes.get(cls)
    if known is not None:
        return known  # type: ignore[no-any-return]
    mode = _SLOTS_BY_SETATTR
    if _SLOT_OFFSETS is not None and cls.__new__ is _object_new:
        fields_set = getattr(cls, "__pydantic_fields_set__", None)
        if all(
            getattr(cls, name, None) is _BaseModel.__dict__[name] for name in _PYDANTIC_SLOTS[1:]
        ):
            if fields_set is _BaseModel.__dict__["__pydantic_fields_set__"]:
                mode = _SLOTS_DIRECT
            elif type(fields_set) is LazyFieldsSet:
                mode = _SLOTS_DIRECT_LAZY
        elif type(fields_set) is LazyFieldsSet and _can_defer(cls):
            mode = _SLOTS_DEFERRED
    _slot_modes[cls] = mode
    return mode


def _can_defer(cls: Any) -> bool:
    """``cls`` reads ``__dict__`` and ``__pydantic_extra__`` through the deferred
    descriptors, keeps its private slot plain, and has a ``DeferredField`` for every field."""
    if type(_class_attr(cls, "__pydantic_extra__")) is not DeferredExtra:
        return False
    if type(_class_attr(cls, "__dict__")) is not DeferredDict:
        return False
    if _class_attr(cls, "__pydantic_private__") is not _BaseModel.__dict__["__pydantic_private__"]:
        return False
    return all(
        type(_class_attr(cls, name)) is DeferredField for name in getattr(cls, "model_fields", {})
    )


def _class_attr(cls: Any, name: str) -> Any:
    """What the class defines for ``name``, without calling a descriptor."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


_slot_modes: dict[Any, int] = {}
_SLOT_OFFSETS = _base_slot_offsets()
_FS_OFF = cython.declare(cython.Py_ssize_t, -1)
_EXTRA_OFF = cython.declare(cython.Py_ssize_t, -1)
_PRIVATE_OFF = cython.declare(cython.Py_ssize_t, -1)
if _SLOT_OFFSETS is not None:
    _FS_OFF, _EXTRA_OFF, _PRIVATE_OFF = _SLOT_OFFSETS


# -- deferred instances ----------------------------------------------------------------------
#
# Compiled, a loaded instance starts without its ``__dict__``: the row it came from waits in
# its ``__pydantic_extra__`` slot (a tuple, which that slot never holds otherwise), and its
# fields-set slot holds the plan's ``DeferredPlan``, which knows how to turn the row into
# the dict.
# The dict is built the first time anything needs it ("settling" the instance):
#
# - reading a field: every field of a table model has a non-data ``DeferredField`` on the
#   class, which Python consults only when the instance's dict lacks the name, so reads of
#   a settled instance cost what they cost without it;
# - ``obj.__dict__``, ``__pydantic_extra__`` and ``__pydantic_fields_set__``, through the
#   descriptors ``oxyde.Model`` installs for them (``DeferredDict``, ``DeferredExtra``,
#   ``LazyFieldsSet``): what Pydantic (dump, copy, equality, assignment, pickle) and oxyde's
#   own write paths read an instance through;
# - the relation loops below read key fields straight from the row and attach relations
#   into a dict that settling completes.
#
# A result that is loaded and dropped, or of which only some instances are read, never pays
# for the rest; an instance holds its row (a tuple shared with nothing else) instead of a
# dict, about half the memory per row of a narrow table. Rows are converted when loaded, so
# a value that cannot be read fails in the query, not at a later attribute read.


@cython.cclass
class DeferredPlan:
    """What a deferred instance holds as its fields set until it is read: the plan's
    fields set (``fields``, which ``LazyFieldsSet`` hands out as a ``set`` copy) and what
    ``_settle`` needs of the plan to build the instance's dict. One per plan, shared by
    every instance of a result, like the frozenset an eager instance starts with."""

    fields = cython.declare(frozenset, visibility="readonly")
    names = cython.declare(tuple, visibility="readonly")
    sources = cython.declare(tuple, visibility="readonly")
    defaults = cython.declare(tuple, visibility="readonly")
    template = cython.declare(dict, visibility="readonly")
    #: field name -> its position in ``names``
    index = cython.declare(dict, visibility="readonly")

    def __init__(self, plan: tuple[Any, ...], fields: frozenset[str] | None = None) -> None:
        self.fields = plan[4] if fields is None else fields
        self.names = plan[0]
        self.sources = plan[1]
        self.defaults = plan[3]
        self.template = plan[6]
        self.index = {name: i for i, name in enumerate(plan[0])}

    def with_name(self, name: str) -> "DeferredPlan":
        """The same plan with ``name`` in its fields set (``mark_set``)."""
        wider: DeferredPlan = DeferredPlan.__new__(DeferredPlan)
        wider.fields = self.fields | {name}
        wider.names = self.names
        wider.sources = self.sources
        wider.defaults = self.defaults
        wider.template = self.template
        wider.index = self.index
        return wider


def plan_fields_set(plan: tuple[Any, ...]) -> DeferredPlan:
    """The ``DeferredPlan`` of a ``load_models`` plan (its eighth item)."""
    return DeferredPlan(plan)


@cython.cfunc
@cython.inline
def _pending(obj: Any) -> cython.bint:
    """``obj`` is a deferred instance: its row still waits in the extra slot."""
    if cython.compiled:
        if _EXTRA_OFF < 0 or slot_is_empty(obj, _EXTRA_OFF):
            return False
        return type(read_slot(obj, _EXTRA_OFF)) is tuple
    return False


@cython.cfunc
@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t, src=cython.Py_ssize_t)
def _settle(obj: Any) -> dict[str, Any] | None:
    """Give a deferred instance its ``__dict__`` and return it; None for any other
    instance. Whatever was put into a dict while the row waited (a relation ``attach``
    stored, an attribute set through ``object.__setattr__``) is kept over the row's value."""
    if not cython.compiled or not _pending(obj):
        return None
    row: tuple[Any, ...] = read_slot(obj, _EXTRA_OFF)
    marker: DeferredPlan = read_slot(obj, _FS_OFF)
    names: tuple[Any, ...] = marker.names
    sources: tuple[Any, ...] = marker.sources
    defaults: tuple[Any, ...] = marker.defaults
    d: dict[str, Any] = PyDict_Copy(marker.template)
    n = len(names)
    for i in range(n):
        src = sources[i]
        d[names[i]] = row[src] if src >= 0 else defaults[i]
    before = existing_dict(obj)
    if before is not None:
        d.update(before)
    PyObject_GenericSetDict(obj, d, cython.NULL)
    replace_slot(obj, _EXTRA_OFF, None)
    track(obj)
    return d


def settle(obj: Any) -> None:
    """Build the ``__dict__`` of a deferred instance now (no-op for any other object of an
    oxyde model): for code that reads instances' dicts from C."""
    if cython.compiled:
        _check_owner(obj, "__dict__")
        _settle(obj)


_ABSENT: Any = object()


@cython.cclass
class _Reader:
    """Reads one field of many instances for the relation loops; a deferred instance is
    read from its row and stays deferred. The field's place in a plan is looked up once
    per plan, not once per instance."""

    name = cython.declare(object)
    marker = cython.declare(object)
    #: the field's position in ``marker``'s plan, -1 when the plan has no such field
    i = cython.declare(cython.Py_ssize_t)

    def __init__(self, name: Any) -> None:
        self.name = name
        self.marker = None
        self.i = -1

    @cython.cfunc
    def get(self, obj: Any) -> Any:
        """``obj.<name>``, or _ABSENT."""
        if cython.compiled and _pending(obj):
            # what was stored while the row waited wins, as when the instance settles
            d = existing_dict(obj)
            if d is not None and self.name in d:
                return d[self.name]
            marker: DeferredPlan = read_slot(obj, _FS_OFF)
            if marker is not self.marker:
                found = marker.index.get(self.name)
                self.i = -1 if found is None else found
                self.marker = marker
            if self.i < 0:
                return _ABSENT
            src: cython.Py_ssize_t = marker.sources[self.i]
            if src >= 0:
                row: tuple[Any, ...] = read_slot(obj, _EXTRA_OFF)
                return row[src]
            return marker.defaults[self.i]
        return _dict_of(obj).get(self.name, _ABSENT)

    @cython.cfunc
    def required(self, obj: Any) -> Any:
        value = self.get(obj)
        if value is _ABSENT:
            raise KeyError(self.name)
        return value


@cython.cclass
class _SlotDescriptor:
    """Base of the descriptors that read BaseModel's slots at their offsets: ``_own``
    refuses an object of another layout, checking each class once, not each instance
    (Pydantic sets ``__dict__`` and ``__pydantic_extra__`` on every instance it makes)."""

    #: what the descriptor stands for, for the error message
    name = cython.declare(object, visibility="readonly")
    #: the last class whose instances passed the check
    checked = cython.declare(object)

    def __init__(self, name: str) -> None:
        self.name = name
        self.checked = None

    @cython.cfunc
    def _own(self, obj: Any) -> None:
        if type(obj) is not self.checked:
            _check_owner(obj, self.name)
            self.checked = type(obj)


@cython.cclass
class DeferredField(_SlotDescriptor):
    """A table model's field on its class, for deferred instances: Python calls it only
    when an instance's ``__dict__`` lacks the name (a non-data descriptor), and it builds
    that dict from the waiting row. Read on the class, or on an instance whose dict lacks
    the field for another reason (a relation that was not loaded), it raises
    AttributeError as though it were not there, which leaves those cases to ``__getattr__``
    and Pydantic as before."""

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is not None and cython.compiled:
            self._own(obj)
            d: dict[str, Any] | None = _settle(obj)
            if d is not None:
                value = d.get(self.name, _ABSENT)
                if value is not _ABSENT:
                    return value
        raise AttributeError(self.name)


@cython.cclass
class DeferredDict(_SlotDescriptor):
    """``__dict__`` of oxyde models: a deferred instance settles before its dict is handed
    out or replaced; for every other instance this is the plain instance dict."""

    def __init__(self) -> None:
        _SlotDescriptor.__init__(self, "__dict__")

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        if cython.compiled:
            self._own(obj)
            _settle(obj)
            return instance_dict(obj)
        return _BASE_DICT.__get__(obj, owner)

    def __set__(self, obj: Any, value: Any) -> None:
        if cython.compiled:
            self._own(obj)
            # a whole new dict replaces the row as well
            if _pending(obj):
                replace_slot(obj, _EXTRA_OFF, None)
            PyObject_GenericSetDict(obj, value, cython.NULL)
            track(obj)
        else:
            _BASE_DICT.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        raise TypeError("cannot delete __dict__")


@cython.cclass
class DeferredExtra(_SlotDescriptor):
    """``__pydantic_extra__`` of oxyde models: a deferred instance keeps its row in this
    slot, so readers and writers settle it first; then it is the plain slot."""

    slot = cython.declare(object, visibility="readonly")

    def __init__(self, slot: Any) -> None:
        _SlotDescriptor.__init__(self, "__pydantic_extra__")
        self.slot = slot

    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        if cython.compiled:
            self._own(obj)
            _settle(obj)
            if slot_is_empty(obj, _EXTRA_OFF):
                raise AttributeError("__pydantic_extra__")
            return read_slot(obj, _EXTRA_OFF)
        return self.slot.__get__(obj, owner)

    def __set__(self, obj: Any, value: Any) -> None:
        # Pydantic sets this slot on every instance it makes: a store at the slot's offset,
        # not a call of the slot descriptor's __set__
        if cython.compiled:
            self._own(obj)
            _settle(obj)
            replace_slot(obj, _EXTRA_OFF, value)
        else:
            self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        if cython.compiled:
            self._own(obj)
            _settle(obj)
        self.slot.__delete__(obj)


_BASE_DICT: Any = _BaseModel.__dict__.get("__dict__")


def deferred_descriptors() -> tuple[DeferredDict, DeferredExtra] | None:
    """What ``oxyde.Model`` installs as ``__dict__`` and ``__pydantic_extra__`` so that its
    instances may be loaded deferred, or None where they are always built whole (the
    pure-Python loader, or a pydantic whose slots are not plain object slots)."""
    if not cython.compiled or _SLOT_OFFSETS is None or _BASE_DICT is None:
        return None
    return DeferredDict(), DeferredExtra(_BaseModel.__dict__["__pydantic_extra__"])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(
    i=cython.Py_ssize_t,
    n=cython.Py_ssize_t,
    src=cython.Py_ssize_t,
    plain=cython.bint,
    mode=cython.int,
    simple=cython.bint,
    width=cython.Py_ssize_t,
    fs_off=cython.Py_ssize_t,
    extra_off=cython.Py_ssize_t,
    private_off=cython.Py_ssize_t,
)
def load_models(cls: Any, plan: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """Build one ``cls`` instance per row.

    plan = (names, sources, convs, defaults, fields_set, private[, template]):
      names     every model field, in declaration order
      sources   per field: the row index holding it, -1 for a default value
                (``defaults[i]``), -2 for a default factory (``defaults[i]()``)
      convs     per field: converter or None (applied to non-NULL row values)
      fields_set frozenset of the field names the row provides
      private   None, or a tuple of (name, private attribute) to initialise
      template  optional, ``dict.fromkeys(names)``: copied for each row, never changed
    """
    names: tuple[Any, ...] = plan[0]
    sources: tuple[Any, ...] = plan[1]
    convs: tuple[Any, ...] = plan[2]
    defaults: tuple[Any, ...] = plan[3]
    fields_set: frozenset[str] = plan[4]
    private: Any = plan[5]
    n = len(names)
    new = cls.__new__
    # A model without its own __new__ is only allocated: object.__new__ would also lay
    # out an instance-attribute area that the __dict__ set below replaces at once.
    plain = new is _object_new
    mode = _SLOTS_BY_SETATTR
    fs_off = extra_off = private_off = -1
    if cython.compiled and plain:
        mode = _slot_mode(cls)
        if mode != _SLOTS_BY_SETATTR:
            fs_off, extra_off, private_off = _SLOT_OFFSETS  # type: ignore[misc]
    # Every field read straight from the row, unconverted: the common case of a driver
    # that returns the fields' Python types takes the shortest loop.
    simple = True
    width = 0  # the row length the sources need: checked per row, as items are unchecked
    for i in range(n):
        src = sources[i]
        if src < 0 or convs[i] is not None:
            simple = False
        if src >= width:
            width = src + 1
    # Every row's dict has the same keys: copying one sized for them skips the resizes
    # of growing a dict one key at a time.
    template: dict[str, Any] = plan[6] if len(plan) > 6 else dict.fromkeys(names)
    marker: Any = plan[7] if len(plan) > 7 else None
    if cython.compiled and mode == _SLOTS_DEFERRED and marker is not None:
        deferrable = True
        for i in range(n):
            # a factory's value is made when the row loads, as for an eager instance
            if sources[i] == -2:
                deferrable = False
        if deferrable:
            return _load_deferred(cls, plan, marker, rows, width, simple)
    out: list[Any] = []
    for row in rows:
        # drivers return tuples; typed, a column is read without a generic item lookup
        values: tuple[Any, ...] = row if type(row) is tuple else tuple(row)
        if len(values) < width:
            raise ValueError(f"a row of {len(values)} values for {width} columns")
        d: dict[str, Any] = PyDict_Copy(template) if cython.compiled else {}
        if simple:
            for i in range(n):
                src = sources[i]
                d[names[i]] = values[src]
        else:
            for i in range(n):
                src = sources[i]
                if src >= 0:
                    value = values[src]
                    conv = convs[i]
                    if conv is not None and value is not None:
                        value = _convert(conv, value) if cython.compiled else conv(value)
                elif src == -1:
                    value = defaults[i]
                else:
                    value = defaults[i]()
                d[names[i]] = value
        state = None if private is None else _private_values(private)
        if cython.compiled:
            obj = PyType_GenericNew(cls, (), None) if plain else new(cls)
            PyObject_GenericSetDict(obj, d, cython.NULL)
            if mode != _SLOTS_BY_SETATTR:
                # LazyFieldsSet in front of the slot: the shared frozenset is enough
                lazy = mode >= _SLOTS_DIRECT_LAZY
                store_new_slot(obj, fs_off, fields_set if lazy else PySet_New(fields_set))
                store_new_slot(obj, extra_off, None)
                store_new_slot(obj, private_off, state)
            else:
                PyObject_GenericSetAttr(obj, "__pydantic_fields_set__", PySet_New(fields_set))
                PyObject_GenericSetAttr(obj, "__pydantic_extra__", None)
                PyObject_GenericSetAttr(obj, "__pydantic_private__", state)
        else:
            obj = new(cls)
            _object_setattr(obj, "__dict__", d)
            _object_setattr(obj, "__pydantic_fields_set__", set(fields_set))
            _object_setattr(obj, "__pydantic_extra__", None)
            _object_setattr(obj, "__pydantic_private__", state)
        out.append(obj)
    return out


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, src=cython.Py_ssize_t, width=cython.Py_ssize_t)
def _converted(
    values: tuple[Any, ...], sources: tuple[Any, ...], convs: tuple[Any, ...], n: cython.Py_ssize_t
) -> tuple[Any, ...]:
    """``values`` with each column a field reads through a converter converted: a new
    tuple of the same length, the other columns shared."""
    width = len(values)
    if cython.compiled:
        out = PyTuple_New(width)
        for i in range(width):
            item = values[i]
            Py_INCREF(item)
            PyTuple_SET_ITEM(out, i, item)
    else:
        out = list(values)
    for i in range(n):
        src = sources[i]
        if src >= 0:
            conv = convs[i]
            value = values[src]
            if conv is not None and value is not None:
                converted = _convert(conv, value) if cython.compiled else conv(value)
                if cython.compiled:
                    # the new tuple is this function's alone until it returns
                    Py_INCREF(converted)
                    PyTuple_SET_ITEM(out, src, converted)
                    Py_DECREF(value)
                else:
                    out[src] = converted
    return out if cython.compiled else tuple(out)  # type: ignore[no-any-return]


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t, src=cython.Py_ssize_t)
def _load_deferred(
    cls: Any,
    plan: tuple[Any, ...],
    marker: Any,
    rows: list[Any],
    width: cython.Py_ssize_t,
    simple: cython.bint,
) -> list[Any]:
    """``load_models`` for a class that takes deferred instances (``_SLOTS_DEFERRED``): an
    instance per row holding the row, converted where the plan converts, and the plan's
    ``DeferredPlan``; no ``__dict__`` until ``_settle``."""
    sources: tuple[Any, ...] = plan[1]
    convs: tuple[Any, ...] = plan[2]
    private: Any = plan[5]
    n = len(sources)
    out: list[Any] = []
    for row in rows:
        values: tuple[Any, ...] = row if type(row) is tuple else tuple(row)
        if len(values) < width:
            raise ValueError(f"a row of {len(values)} values for {width} columns")
        if not simple:
            values = _converted(values, sources, convs, n)
        atomic = untrack_if_atomic(values)
        state = None if private is None else _private_values(private)
        obj = PyType_GenericNew(cls, (), None)
        store_new_slot(obj, _FS_OFF, marker)
        store_new_slot(obj, _EXTRA_OFF, values)
        store_new_slot(obj, _PRIVATE_OFF, state)
        if atomic and state is None:
            # Nothing it holds can lead back to it, so the collector need not visit it:
            # a large result left unread costs full collections nothing. Whatever gives
            # it a reference first (settling, attach) puts it back on the list.
            untrack(obj)
        out.append(obj)
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
def unseen_keys(rows: list[Any], key: cython.Py_ssize_t, seen: dict[Any, Any]) -> list[Any]:
    """The rows whose ``row[key]`` is neither NULL nor in ``seen``, the first of each key
    only; their keys go into ``seen`` (mapped to None until the caller stores the instance
    built from the row). A joined model repeated over many rows is then built once."""
    fresh: list[Any] = []
    for row in rows:
        k = row[key]
        if k is not None and k not in seen:
            seen[k] = None
            fresh.append(row)
    return fresh


@cython.boundscheck(False)
@cython.wraparound(False)
def by_key(rows: list[Any], key: cython.Py_ssize_t, found: dict[Any, Any]) -> list[Any]:
    """``found[row[key]]`` for every row, None where ``row[key]`` is NULL."""
    out: list[Any] = []
    for row in rows:
        k = row[key]
        out.append(None if k is None else found[k])
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
def collect_keys(seen: dict[Any, Any], instances: list[Any], field: str) -> None:
    """Put the ``field`` value of every instance that has one other than None into
    ``seen`` (mapped to None): ``prefetch()``'s keys of a level, in first-seen order."""
    reader = _Reader(field)
    for instance in instances:
        key = reader.get(instance)
        if key is not None and key is not _ABSENT:
            seen[key] = None


@cython.boundscheck(False)
@cython.wraparound(False)
def group_into(
    groups: dict[Any, list[Any]],
    instances: list[Any],
    field: str,
    order: Any = None,
    tails: dict[Any, Any] | None = None,
    unordered: set[Any] | None = None,
) -> None:
    """Append each instance to the list of ``groups`` for its ``field`` value (``prefetch()``:
    children by their parent's key), in the order of ``instances``.

    With ``order`` (a field name), ``tails`` and ``unordered``: the lists are checked for
    being in ``order`` as they grow, which costs little while each instance is at hand
    (a check afterwards reads every instance again, from memory long since left): ``tails``
    keeps each group's last ``order`` value, ``unordered`` collects the groups' keys whose
    list is out of that order (see ``sort_group``)."""
    reader = _Reader(field)
    check = order is not None and tails is not None and unordered is not None
    ordering = _Reader(order if check else field)
    for instance in instances:
        key = reader.required(instance)
        group = groups.get(key)
        if group is None:
            groups[key] = [instance]
            if check:
                tails[key] = ordering.required(instance)  # type: ignore[index]
        else:
            group.append(instance)
            if check:
                value = ordering.required(instance)
                if value < tails[key]:  # type: ignore[index]
                    unordered.add(key)  # type: ignore[union-attr]
                tails[key] = value  # type: ignore[index]


@cython.boundscheck(False)
@cython.wraparound(False)
def groups_of(parents: list[Any], field: str, groups: dict[Any, list[Any]]) -> list[Any]:
    """A new list per parent: the group of its ``field`` value, empty where there is none."""
    out: list[Any] = []
    reader = _Reader(field)
    for parent in parents:
        key = reader.get(parent)
        group = None if key is _ABSENT else groups.get(key)
        out.append([] if group is None else list(group))
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def sort_group(group: list[Any], field: str) -> None:
    """Sort ``group`` in place by its instances' ``field`` values, ties kept in order
    (``prefetch()``: children in key order without an ORDER BY)."""
    n = len(group)
    if n < 2:
        return
    reader = _Reader(field)
    keys: list[Any] = [reader.required(instance) for instance in group]
    order = sorted(range(n), key=keys.__getitem__)
    group[:] = [group[i] for i in order]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t)
def attach(parents: list[Any], name: str, children: list[Any]) -> None:
    """``parents[i].<name> = children[i]`` for every parent that is not None, straight into
    the instance's ``__dict__`` (the relation was counted as set when the parent loaded)."""
    if len(parents) != len(children):
        raise ValueError(f"{len(parents)} parents for {len(children)} related rows")
    for i in range(len(parents)):
        parent = parents[i]
        if parent is not None:
            if cython.compiled and _pending(parent):
                # stays deferred: settling keeps what this dict holds
                d = existing_dict(parent)
                if d is None:
                    PyObject_GenericSetDict(parent, {name: children[i]}, cython.NULL)
                else:
                    d[name] = children[i]
                track(parent)  # it now holds a reference that may lead back to it
            else:
                _dict_of(parent)[name] = children[i]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, fs_off=cython.Py_ssize_t, lazy=cython.bint)
def mark_set(instances: list[Any], name: str) -> None:
    """Add ``name`` to the fields set of every instance.

    An instance still holding its plan's shared frozenset (never read, see
    ``LazyFieldsSet``) gets another shared frozenset with ``name`` in it, made once per
    distinct set, rather than a ``set`` of its own made on the spot.
    """
    fs_off = _SLOT_OFFSETS[0] if _SLOT_OFFSETS is not None else -1
    extended: dict[Any, Any] = {}
    # the instances of one level are nearly always of one class: its slot mode is looked
    # up once per run of that class, not per instance
    last_type: Any = None
    lazy = False
    for i in range(len(instances)):
        instance = instances[i]
        if cython.compiled:
            if type(instance) is not last_type:
                last_type = type(instance)
                lazy = _slot_mode(last_type) >= _SLOTS_DIRECT_LAZY
            if lazy and not slot_is_empty(instance, fs_off):
                shared = read_slot(instance, fs_off)
                if type(shared) is frozenset or type(shared) is DeferredPlan:
                    wider = extended.get(shared)
                    if wider is None:
                        # a deferred instance's plan goes on naming how to build it
                        if type(shared) is DeferredPlan:
                            wider = shared.with_name(name)
                        else:
                            wider = shared | {name}  # type: ignore[operator]
                        extended[shared] = wider
                    replace_slot(instance, fs_off, wider)
                    continue
        instance.__pydantic_fields_set__.add(name)


@cython.cfunc
def _whole_dict(obj: Any) -> dict[str, Any]:
    """``obj.__dict__``, a deferred instance's built first."""
    if cython.compiled:
        # only a BaseModel has the slot a deferred instance keeps its row in
        if PyType_IsSubtype(type(obj), _BaseModel):
            d: dict[str, Any] | None = _settle(obj)
            if d is not None:
                return d
        return instance_dict(obj)  # type: ignore[no-any-return]
    return obj.__dict__  # type: ignore[no-any-return]


@cython.locals(j=cython.Py_ssize_t, m=cython.Py_ssize_t, auto=cython.bint, default=cython.bint)
def omission_keys(instances: list[Any], rules: tuple[Any, ...]) -> list[Any]:
    """Per instance, which omissible columns its INSERT leaves to the database: a tuple
    with one flag per rule ``(field name, auto-increment, has a db default)``. An
    auto-increment column is left out while its value is None, one with a database
    default while the instance has not set it, one with both in either case."""
    if not cython.compiled:
        return _omission_keys_by_rule(instances, rules)
    m = len(rules)
    keys: list[Any] = []
    for instance in instances:
        d = _whole_dict(instance)
        fields_set: Any = None
        flags: list[Any] = []
        for j in range(m):
            rule: tuple[Any, ...] = rules[j]
            name = rule[0]
            auto = rule[1]
            default = rule[2]
            out = False
            if auto and d.get(name) is None:
                out = True
            elif default:
                if fields_set is None:
                    fields_set = instance.__pydantic_fields_set__
                out = name not in fields_set
            flags.append(out)
        keys.append(tuple(flags))
    return keys


def _omission_keys_by_rule(instances: list[Any], rules: tuple[Any, ...]) -> list[Any]:
    """``omission_keys`` for the interpreter: a comprehension per rule, then the flags
    zipped into keys (a loop per instance and rule costs the interpreter twice as much)."""
    if not rules:
        return [() for _ in instances]
    dicts = [instance.__dict__ for instance in instances]
    flags: list[list[bool]] = []
    for name, auto, default in rules:
        if auto and default:
            flags.append(
                [
                    d.get(name) is None or name not in i.__pydantic_fields_set__
                    for d, i in zip(dicts, instances, strict=True)
                ]
            )
        elif auto:
            flags.append([d.get(name) is None for d in dicts])
        elif default:
            flags.append([name not in i.__pydantic_fields_set__ for i in instances])
        else:
            flags.append([False] * len(instances))
    return list(zip(*flags, strict=True))


@cython.locals(j=cython.Py_ssize_t, m=cython.Py_ssize_t)
def insert_values(instances: list[Any], names: tuple[Any, ...]) -> list[Any]:
    """The values of ``names`` of every instance, one flat list, instance after instance:
    the parameters of a multi-row INSERT. A missing field raises KeyError."""
    m = len(names)
    if not cython.compiled and m > 1:
        # the interpreter's quickest: one C call per instance for its whole row
        row_of = _itemgetter(*names)
        return [value for instance in instances for value in row_of(instance.__dict__)]
    values: list[Any] = []
    for instance in instances:
        d = _whole_dict(instance)
        for j in range(m):
            values.append(d[names[j]])  # noqa: PERF401 (compiled: an indexed C loop)
    return values


@cython.locals(i=cython.Py_ssize_t, j=cython.Py_ssize_t, m=cython.Py_ssize_t)
def apply_returned(
    instances: list[Any],
    names: tuple[Any, ...],
    convs: tuple[Any, ...],
    shared: tuple[Any, ...],
    rows: list[Any],
    every: frozenset[str],
) -> None:
    """Store each RETURNING row on its instance: ``names[j]`` takes the row's j-th value,
    through ``convs[j]`` when that is not None (NULL stays None), and every field counts as
    set. ``shared[j]``: the column's values are immutable, so one text value converts once
    for all the rows (a database default such as CURRENT_TIMESTAMP repeats in every row)."""
    if len(instances) != len(rows):
        raise ValueError(f"{len(rows)} rows came back for {len(instances)} instances")
    m = len(names)
    if not cython.compiled:
        _apply_by_column(instances, names, convs, shared, rows, every)
        return
    memos: list[Any] = [{} if shared[j] else None for j in range(m)]
    for i in range(len(rows)):
        instance = instances[i]
        row = rows[i]
        values: tuple[Any, ...] = row if type(row) is tuple else tuple(row)
        if len(values) < m:
            raise ValueError(f"a row of {len(values)} values for {m} columns")
        d = _whole_dict(instance)
        for j in range(m):
            value = values[j]
            conv = convs[j]
            if conv is not None and value is not None:
                memo: dict[Any, Any] | None = memos[j]
                if memo is not None and type(value) is str:
                    # only text keys: 1, 1.0 and True are one dict key but may convert apart
                    done = memo.get(value, _ABSENT)
                    if done is _ABSENT:
                        done = _convert(conv, value) if cython.compiled else conv(value)
                        memo[value] = done
                    value = done
                else:
                    value = _convert(conv, value) if cython.compiled else conv(value)
            d[names[j]] = value
        instance.__pydantic_fields_set__.update(every)


def _apply_by_column(
    instances: list[Any],
    names: tuple[Any, ...],
    convs: tuple[Any, ...],
    shared: tuple[Any, ...],
    rows: list[Any],
    every: frozenset[str],
) -> None:
    """``apply_returned`` for the interpreter: column by column, so that a column's values
    convert in one pass and what is left per row is one store per column."""
    m = len(names)
    for row in rows:
        if len(row) < m:
            raise ValueError(f"a row of {len(row)} values for {m} columns")
    dicts = [instance.__dict__ for instance in instances]
    # the rows transposed: the j-th value of every row (a row may hold more than m)
    for j, stored in zip(range(m), zip(*rows, strict=False), strict=False):
        conv = convs[j]
        values: Any = stored
        if conv is not None:
            if not shared[j]:
                values = [None if v is None else conv(v) for v in stored]
            else:
                memo: dict[Any, Any] = {}
                values = []
                for v in stored:
                    if v is not None:
                        if type(v) is not str:
                            # only text keys: 1, 1.0 and True are one dict key but may
                            # convert apart
                            v = conv(v)
                        else:
                            done = memo.get(v, _ABSENT)
                            if done is _ABSENT:
                                done = memo[v] = conv(v)
                            v = done
                    values.append(v)
        name = names[j]
        for d, value in zip(dicts, values, strict=True):
            d[name] = value
    for instance in instances:
        instance.__pydantic_fields_set__.update(every)


def _private_values(private: tuple[Any, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, attr in private:
        default = attr.get_default(call_default_factory=True)
        if default is not _UNDEFINED:
            values[name] = default
    return values


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def load_dicts(names: tuple[str, ...], convs: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """One dict per row: ``{names[i]: convs[i](row[i])}``."""
    n = len(names)
    out: list[Any] = []
    for row in rows:
        d: dict[str, Any] = {}
        for i in range(n):
            value = row[i]
            conv = convs[i]
            if conv is not None and value is not None:
                value = _convert(conv, value) if cython.compiled else conv(value)
            d[names[i]] = value
        out.append(d)
    return out


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def load_tuples(convs: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """One tuple per row, converted column by column."""
    n = len(convs)
    active = False
    for i in range(n):
        if convs[i] is not None:
            active = True
    if not active:
        return [tuple(row) for row in rows]
    out: list[Any] = []
    for row in rows:
        items: list[Any] = []
        for i in range(n):
            value = row[i]
            conv = convs[i]
            if conv is not None and value is not None:
                value = _convert(conv, value) if cython.compiled else conv(value)
            items.append(value)
        out.append(tuple(items))
    return out


def load_scalars(conv: Any, rows: list[Any]) -> list[Any]:
    """The first column of every row."""
    if conv is None:
        return [row[0] for row in rows]
    out: list[Any] = []
    for row in rows:
        value = row[0]
        if value is not None:
            value = _convert(conv, value) if cython.compiled else conv(value)
        out.append(value)
    return out


# -- converters ------------------------------------------------------------------------------
#
# A dialect's converter runs once per row and column; written in Python, the call frame
# around ``datetime.fromisoformat`` cost as much as the parsing (a third of loading a row of
# the benchmark's posts from SQLite). The dialects that store datetimes as text use these.

_fromisoformat = _dt.datetime.fromisoformat
_UTC = _dt.UTC


def text_to_datetime(value: Any) -> Any:
    """A naive datetime column's text -> ``datetime``; text with an offset (older versions,
    other writers) gives its UTC wall time, as every naive column holds aware values."""
    if type(value) is str:
        if cython.compiled:
            quick = _naive_datetime(value)
            if quick is not None:
                return quick
    elif isinstance(value, _dt.datetime):
        return value
    return _parsed_datetime(value)


@cython.cfunc
def _parsed_datetime(value: Any) -> Any:
    """``datetime.fromisoformat(value)``, an aware result as its UTC wall time."""
    result = _fromisoformat(value)
    if result.tzinfo is not None:
        return result.astimezone(_UTC).replace(tzinfo=None)
    return result


#: ``text_to_datetime`` itself: ``_convert`` recognises it among a plan's converters
_TEXT_TO_DATETIME = cython.declare(object, text_to_datetime)


@cython.cfunc
@cython.inline
def _convert(conv: Any, value: Any) -> Any:
    """``conv(value)``; SQLite's datetime text in the forms oxyde and ``CURRENT_TIMESTAMP``
    write is read here without a call through Python (compiled only: pure, every call site
    calls ``conv`` itself)."""
    if conv is _TEXT_TO_DATETIME and type(value) is str:
        # text_to_datetime's own steps, without trying the quick read a second time
        quick = _naive_datetime(value)
        return quick if quick is not None else _parsed_datetime(value)
    return conv(value)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
@cython.locals(i=cython.Py_ssize_t, total=cython.long, c=cython.long)
def _number(
    text: cython.p_uchar, start: cython.Py_ssize_t, count: cython.Py_ssize_t
) -> cython.long:
    """The decimal number the bytes ``text[start:start + count]`` spell, -1 if any of
    them is not an ASCII digit."""
    total = 0
    for i in range(start, start + count):
        c = text[i] - 48
        if c < 0 or c > 9:
            return -1
        total = total * 10 + c
    return total


@cython.cfunc
@cython.locals(
    n=cython.Py_ssize_t,
    p=cython.p_uchar,
    year=cython.long,
    month=cython.long,
    day=cython.long,
    hour=cython.long,
    minute=cython.long,
    second=cython.long,
    micro=cython.long,
    last=cython.long,
    leap=cython.bint,
)
def _naive_datetime(text: str) -> Any:
    """``YYYY-MM-DD HH:MM:SS``, with ``T`` or a space between, and optionally ``.ffffff``:
    the ``datetime`` it spells, read from the string's bytes (about 370 instructions, where
    the call to ``datetime.fromisoformat`` took about 910). None for any other
    text, or for a field out of range, so that ``fromisoformat`` reads it, or words its
    error, as before. Compiled only."""
    n = PyUnicode_GET_LENGTH(text)
    if (n != 19 and n != 26) or PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND:
        return None
    p = PyUnicode_1BYTE_DATA(text)
    # '-', '-', ' ' or 'T', ':', ':'
    if p[4] != 45 or p[7] != 45 or (p[10] != 32 and p[10] != 84) or p[13] != 58 or p[16] != 58:
        return None
    year = _number(p, 0, 4)
    month = _number(p, 5, 2)
    day = _number(p, 8, 2)
    hour = _number(p, 11, 2)
    minute = _number(p, 14, 2)
    second = _number(p, 17, 2)
    micro = 0
    if n == 26:
        if p[19] != 46:  # '.'
            return None
        micro = _number(p, 20, 6)
    if year < 1 or month < 1 or month > 12 or day < 1 or micro < 0:
        return None
    if hour < 0 or hour > 23 or minute < 0 or minute > 59 or second < 0 or second > 59:
        return None
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = 29 if leap else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        last = 30
    else:
        last = 31
    if day > last:
        return None
    return datetime_new(year, month, day, hour, minute, second, micro, None)
