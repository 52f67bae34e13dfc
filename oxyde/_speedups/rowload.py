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
(``LazyFieldsSet``), and pydantic's slots are written at their offsets (``_capi.pxd``).
"""

try:
    import cython
except ModuleNotFoundError:  # pure-Python install without Cython
    from oxyde._speedups import _cython_shim as cython  # type: ignore[no-redef]

import datetime as _dt
import types as _types
from typing import Any

from pydantic import BaseModel as _BaseModel
from pydantic_core import PydanticUndefined as _UNDEFINED

if cython.compiled:
    # Compiled, instances are built through the C API: ``object.__setattr__`` called from
    # C still goes through a wrapper call per attribute, which cost more than all the rest
    # of a row (bench/micro: rows.*). The pure-Python branch does the same in Python.
    from cython.cimports.cpython.dict import PyDict_Copy  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.object import (  # type: ignore[import-untyped, import-not-found]
        PyObject_GenericSetAttr,
        PyObject_GenericSetDict,
    )
    from cython.cimports.cpython.set import PySet_New  # type: ignore[import-untyped, import-not-found]
    from cython.cimports.cpython.type import (  # type: ignore[import-untyped, import-not-found]
        PyType_GenericNew,
        PyType_IsSubtype,
    )
    from cython.cimports.oxyde._speedups._capi import (  # type: ignore[import-untyped, import-not-found]
        instance_dict,
        object_slot_offset,
        read_slot,
        replace_slot,
        slot_is_empty,
        store_new_slot,
    )

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
            if slot_is_empty(obj, self.offset):
                raise AttributeError("__pydantic_fields_set__")
            value = read_slot(obj, self.offset)
            if type(value) is frozenset:
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
            replace_slot(obj, self.offset, value)
        else:
            self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        self.slot.__delete__(obj)


@cython.cfunc
def _check_owner(obj: Any) -> None:
    # The slot offset is BaseModel's: anything else has other memory there. A subtype
    # check, not isinstance(): BaseModel's ABCMeta would run its __instancecheck__ on every
    # read and write of the fields set.
    if not PyType_IsSubtype(type(obj), _BaseModel):
        raise TypeError(
            f"__pydantic_fields_set__ is a BaseModel slot, not one of {type(obj).__name__}"
        )


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
    _slot_modes[cls] = mode
    return mode


_slot_modes: dict[Any, int] = {}
_SLOT_OFFSETS = _base_slot_offsets()


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
                        value = conv(value)
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
                lazy = mode == _SLOTS_DIRECT_LAZY
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
    for instance in instances:
        key = _dict_of(instance).get(field)
        if key is not None:
            seen[key] = None


@cython.boundscheck(False)
@cython.wraparound(False)
def group_into(groups: dict[Any, list[Any]], instances: list[Any], field: str) -> None:
    """Append each instance to the list of ``groups`` for its ``field`` value (``prefetch()``:
    children by their parent's key), in the order of ``instances``."""
    for instance in instances:
        key = _dict_of(instance)[field]
        group = groups.get(key)
        if group is None:
            groups[key] = [instance]
        else:
            group.append(instance)


@cython.boundscheck(False)
@cython.wraparound(False)
def groups_of(parents: list[Any], field: str, groups: dict[Any, list[Any]]) -> list[Any]:
    """A new list per parent: the group of its ``field`` value, empty where there is none."""
    out: list[Any] = []
    for parent in parents:
        group = groups.get(_dict_of(parent).get(field))
        out.append([] if group is None else list(group))
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t)
def sort_groups(groups: dict[Any, list[Any]], field: str) -> None:
    """Sort every list of ``groups`` in place by its instances' ``field`` values, ties
    kept in order (``prefetch()``: children in key order without an ORDER BY). A list
    in order already, as rows read through an index mostly are, is only checked."""
    for group in groups.values():
        n = len(group)
        if n < 2:
            continue
        previous = _dict_of(group[0])[field]
        for i in range(1, n):
            key = _dict_of(group[i])[field]
            if key < previous:
                break
            previous = key
        else:
            continue
        keys: list[Any] = [_dict_of(instance)[field] for instance in group]
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
                lazy = _slot_mode(last_type) == _SLOTS_DIRECT_LAZY
            if lazy and not slot_is_empty(instance, fs_off):
                shared = read_slot(instance, fs_off)
                if type(shared) is frozenset:
                    wider = extended.get(shared)
                    if wider is None:
                        wider = shared | {name}
                        extended[shared] = wider
                    replace_slot(instance, fs_off, wider)
                    continue
        instance.__pydantic_fields_set__.add(name)


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
                value = conv(value)
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
                value = conv(value)
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
        out.append(conv(value) if value is not None else None)
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
    if type(value) is not str and isinstance(value, _dt.datetime):
        return value
    result = _fromisoformat(value)
    if result.tzinfo is not None:
        return result.astimezone(_UTC).replace(tzinfo=None)
    return result
