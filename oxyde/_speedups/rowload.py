"""Rows -> model instances, dicts, tuples or scalars: the per-row loop.

Cython pure-Python mode: this file is both the compiled module and its pure fallback.
It takes plain data only: a plan tuple prepared once per result shape by
``oxyde/queries/rowplan.py`` and the driver's rows (tuples). Each function is one
Python-visible call per result, so a profile names the stage even without ``--native``.

Instances are built the way ``BaseModel.model_construct`` builds them (``__dict__``,
``__pydantic_fields_set__``, ``__pydantic_extra__``, ``__pydantic_private__``), from
values the converters have already turned into the fields' Python types; the result has
the same observable state ``model_validate`` gives for those values, which the
equivalence tests check. Models that need real validation never come here.
"""

try:
    import cython
except ModuleNotFoundError:  # pure-Python install without Cython
    from oxyde._speedups import _cython_shim as cython  # type: ignore[no-redef]

from typing import Any

from pydantic_core import PydanticUndefined as _UNDEFINED

_object_setattr = object.__setattr__


def _is_compiled() -> bool:
    return bool(cython.compiled)


@cython.locals(i=cython.Py_ssize_t, n=cython.Py_ssize_t, src=cython.Py_ssize_t)
def load_models(cls: Any, plan: tuple[Any, ...], rows: list[Any]) -> list[Any]:
    """Build one ``cls`` instance per row.

    plan = (names, sources, convs, defaults, fields_set, private):
      names     every model field, in declaration order
      sources   per field: the row index holding it, -1 for a default value
                (``defaults[i]``), -2 for a default factory (``defaults[i]()``)
      convs     per field: converter or None (applied to non-NULL row values)
      fields_set frozenset of the field names the row provides
      private   None, or a tuple of (name, private attribute) to initialise
    """
    names: tuple[Any, ...] = plan[0]
    sources: tuple[Any, ...] = plan[1]
    convs: tuple[Any, ...] = plan[2]
    defaults: tuple[Any, ...] = plan[3]
    fields_set: frozenset[str] = plan[4]
    private: Any = plan[5]
    n = len(names)
    new = cls.__new__
    out: list[Any] = []
    for row in rows:
        d: dict[str, Any] = {}
        for i in range(n):
            src = sources[i]
            if src >= 0:
                value = row[src]
                conv = convs[i]
                if conv is not None and value is not None:
                    value = conv(value)
            elif src == -1:
                value = defaults[i]
            else:
                value = defaults[i]()
            d[names[i]] = value
        obj = new(cls)
        _object_setattr(obj, "__dict__", d)
        _object_setattr(obj, "__pydantic_fields_set__", set(fields_set))
        _object_setattr(obj, "__pydantic_extra__", None)
        if private is None:
            _object_setattr(obj, "__pydantic_private__", None)
        else:
            _object_setattr(obj, "__pydantic_private__", _private_values(private))
        out.append(obj)
    return out


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
